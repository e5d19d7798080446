"""Index an app folder as the Python worker does: its ``function_app``, ``host.json`` and
``local.settings.json``."""
