"""Tests of devhost, the local host: engine, task hubs, HTTP front end, loader, settings."""
