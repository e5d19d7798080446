"""The durable engine: episodes, activities and timers over a task hub."""
