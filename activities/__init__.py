"""Activities: the steps of the flow that do I/O (waiting, pushing)."""
