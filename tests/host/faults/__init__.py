"""Hosts under faults: killed hosts, storage outages (end-to-end and slow trials)."""
