"""Orchestrators: deterministic generators that only decide; activities do the work."""
