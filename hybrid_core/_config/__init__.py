"""The declarative layer: finding, composing and checking configuration files, and
building the workflows they declare.

May import ``_bridge`` and the layers below it.
"""
