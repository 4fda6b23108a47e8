"""The core records: engines and providers, the execution context, the registry, pools.

The lowest subpackage: it may import only the bottom modules (``hookspecs``,
``exceptions``, ``_markers``).
"""
