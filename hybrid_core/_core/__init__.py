"""The core records: engines and providers, the execution context, the registry, pools.

The lowest layer of the package: it imports only ``exceptions`` and ``_markers``.
"""
