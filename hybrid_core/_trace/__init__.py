"""Recorded traces read back: events into spans, a terminal timeline, an HTML page.

May import ``_telemetry`` and the layers below it, not its peers ``_workflow``, ``_routing``.
"""
