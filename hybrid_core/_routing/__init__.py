"""Routing: the strategies, their live statistics, and the router that calls providers.

Imports only ``_telemetry`` and the layers below it; never ``_workflow`` or ``_trace``.
"""
