"""The ``hybrid`` command line (click). ``import hybrid_core`` never imports this layer.

The top layer: it may import every other one, the public ``hybrid_core`` names included.
"""
