"""Plugins: entry points and the pluggy manager, the built-in plugin, system assembly.

Imports ``_config`` and the layers below it; only ``_system`` and the CLI sit above.
"""
