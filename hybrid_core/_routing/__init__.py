"""Routing: the strategies, their live statistics, and the router that calls providers.

May import ``_telemetry`` and the layers below it, not its peers ``_workflow``, ``_trace``.
"""
