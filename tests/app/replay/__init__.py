"""The order orchestrator replayed through the durable SDK on histories built by hand."""
