"""The task hub contract on every backend, activity leases, ids kept as data."""
