"""``AzureWebJobsStorage`` as the app sees it when this host provides the storage.

Apps read the setting themselves (to upload blobs, to send queue messages). When the host
runs the storage (the Azurite ``make run`` started) or the app asks for the development
storage (``UseDevelopmentStorage=true``, which only works on Azurite's default ports), the
app's environment gets the explicit connection string of the Azurite actually running, on
its actual ports. Any other value the user set is left as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

__all__ = ["STORAGE_SETTING", "is_development_storage", "provide_storage_setting"]

STORAGE_SETTING = "AzureWebJobsStorage"


def is_development_storage(value: str) -> bool:
    """Whether ``value`` is the ``UseDevelopmentStorage=true`` shorthand."""
    return value.strip().rstrip(";").replace(" ", "").lower() == "usedevelopmentstorage=true"


def provide_storage_setting(connection_string: str, values: Mapping[str, str],
                            environ: MutableMapping[str, str] | None = None) -> bool:
    """Set ``AzureWebJobsStorage`` to ``connection_string`` unless the user chose another
    account (in the environment or in ``values``, local.settings.json's); True if set."""
    env = os.environ if environ is None else environ
    current = env.get(STORAGE_SETTING, values.get(STORAGE_SETTING))
    if current is not None and current.strip() and not is_development_storage(current):
        return False
    env[STORAGE_SETTING] = connection_string
    return True
