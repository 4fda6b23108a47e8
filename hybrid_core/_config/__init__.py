"""The declarative layer: finding, composing and checking configuration files.

Also builds the workflows declared in TOML. Imports ``_bridge`` and the layers below it.
"""
