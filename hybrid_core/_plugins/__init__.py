"""Plugins: entry points and the pluggy manager, the built-in plugin, system assembly.

May import ``_config`` and the layers below it.
"""
