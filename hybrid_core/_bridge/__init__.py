"""The bridge: engines and capabilities as workflow steps, workflows as providers, and
capacity plans (what a workflow will ask of the pools, read before it runs).

May import ``_workflow``, ``_routing``, ``_trace`` and the layers below them.
"""
