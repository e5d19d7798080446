"""Benchmarks: how fast the local host runs durable work (``python -m bench``).

Each scenario runs on both task hubs (Azure Storage on an Azurite started for the run,
and in memory on the system clock), next to Azurite's raw ceiling and the durable SDK's
own replay cost, and each figure is set against its target. A benchmark reports: a slow
machine gives slow figures, never a failure.
"""
