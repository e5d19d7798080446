"""Task hubs: where instances, history and pending work are kept (``base`` is the interface;
``memory`` and ``azure`` implement it)."""
