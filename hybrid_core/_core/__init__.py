"""The core records: engines and providers, the execution context, the registry, pools.

The lowest subpackage: it may import only the leaves (``hookspecs``, ``exceptions``,
``_markers``).
"""
