"""Recorded traces read back: events into spans, a terminal timeline, an HTML page.

Imports only ``_telemetry`` and the layers below it; never ``_workflow`` or ``_routing``.
"""
