"""Tests of the order app: contracts, pushes, HTTP routes, the orchestrator, hostile input."""
