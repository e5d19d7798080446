"""Durable entities through the real host: the counter app, both task hubs, a kill -9."""
