"""Where a call runs: the local executor, its worker processes and their protocol.

May import ``_core`` and the bottom modules (``hookspecs``, ``exceptions``, ``_markers``).
"""
