"""Tests of the benchmark: its clients and a tiny run."""
