"""Recorded histories: the export format, export from task hubs, replay against changed code."""
