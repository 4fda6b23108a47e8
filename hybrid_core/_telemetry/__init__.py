"""Telemetry: the event bus, the sink queue, the built-in sinks, the documented names.

Imports only ``_execution``, ``_core`` and the leaf modules; every layer above emits through it.
"""
