"""Storage connection strings: the emulator's development account and what is on this machine.

Read by the Azure Storage task hub and by the local Azurite process alike, so neither
imports the other to know them.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_PORTS",
    "DEV_ACCOUNT_KEY",
    "DEV_ACCOUNT_NAME",
    "dev_connection_string",
    "loopback_only",
    "resolve_connection_string",
]

# The emulator's fixed, publicly documented development account; not a secret.
DEV_ACCOUNT_NAME = "devstoreaccount1"
# The well-known emulator key, the same on every machine.
DEV_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
# Azurite's blob, queue and table ports when nothing else is said.
DEFAULT_PORTS = (10000, 10001, 10002)
LOOPBACK = "127.0.0.1"


def dev_connection_string(blob_port: int, queue_port: int, table_port: int,
                          host: str = LOOPBACK) -> str:
    """The explicit development-account connection string for Azurite on these ports.

    There is no trailing ``;``: the tables SDK rejects one.
    """
    def endpoint(port: int) -> str:
        return f"http://{host}:{port}/{DEV_ACCOUNT_NAME}"

    return ";".join([
        "DefaultEndpointsProtocol=http",
        f"AccountName={DEV_ACCOUNT_NAME}",
        f"AccountKey={DEV_ACCOUNT_KEY}",
        f"BlobEndpoint={endpoint(blob_port)}",
        f"QueueEndpoint={endpoint(queue_port)}",
        f"TableEndpoint={endpoint(table_port)}",
    ])


def resolve_connection_string(value: str) -> str:
    """Turn ``UseDevelopmentStorage=true`` into the explicit default-port string.

    The SDKs do not all understand the shorthand, so it is expanded here; any other
    value is returned unchanged.
    """
    shorthand = value.strip().rstrip(";").replace(" ", "").lower()
    if shorthand == "usedevelopmentstorage=true":
        return dev_connection_string(*DEFAULT_PORTS)
    return value


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def loopback_only(connection_string: str) -> bool:
    """Whether every endpoint of an explicit connection string is on this machine."""
    parts = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
    endpoints = [value for key, value in parts.items() if key.endswith("Endpoint")]
    return bool(endpoints) and all(
        (urlsplit(endpoint).hostname or "") in _LOOPBACK_HOSTS for endpoint in endpoints)
