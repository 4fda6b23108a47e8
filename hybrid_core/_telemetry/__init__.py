"""Telemetry: the event bus, the sink queue, the built-in sinks, the documented names.

May import ``_execution``, ``_core`` and the bottom modules (``hookspecs``, ``exceptions``,
``_markers``).
"""
