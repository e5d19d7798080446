"""The durable engine: episodes, batches, redelivery, concurrency, the order app on it."""
