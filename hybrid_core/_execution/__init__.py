"""Where a call runs: the local executor, its worker processes and their protocol.

Imports only ``_core`` and the leaf modules (``exceptions``, ``_markers``, ``hookspecs``).
"""
