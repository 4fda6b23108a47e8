"""The bridge: engines and capabilities as workflow steps, workflows as providers.

Also reads a workflow before it runs (capacity plans). Imports ``_workflow``, ``_routing``,
``_trace`` and the layers below them.
"""
