"""The durable-client binding: the JSON a ``durableClient`` parameter receives, and its URLs.

The SDK's ``DurableOrchestrationClient`` is built from this JSON (see the SDK's
``DurableOrchestrationBindings``). It reads ``taskHubName``, ``creationUrls``,
``managementUrls`` and ``rpcBaseUrl``; every other key lands in ``client_data``. We send
the keys the Functions host sends: also ``baseUrl``, ``requiredQueryStringParameters``
(``code=<system key>``) and ``httpBaseUrl``.

Two ways into the management API:

* the public webhook ``{base}/runtime/webhooks/durabletask/...``, which needs the system
  (or master) key. ``managementUrls`` and ``creationUrls`` point there with ``code=`` set,
  so the URLs ``create_check_status_response`` hands out work as returned.
* ``rpcBaseUrl``, where the SDK client sends all of its own calls. The client never appends
  ``requiredQueryStringParameters`` to those calls (checked in the SDK: ``start_new``,
  ``get_status``, ``raise_event``... all build ``f"{rpc_base_url}..."``), so a keyed route
  would refuse it. Azure answers it on a separate loopback-only listener with no key; we
  serve the same handlers under ``/_devhost/rpc/<secret>/durabletask/``, where the secret
  is random per process, compared in constant time, never logged, and only ever put in
  the binding JSON the host passes to the app's own functions.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote

__all__ = ["INSTANCE_ID_PLACEHOLDER", "RPC_PREFIX", "WEBHOOK_PATH", "DurableUrls",
           "new_rpc_secret"]

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RPC_PREFIX = "/_devhost/rpc/"
RPC_SUFFIX = "/durabletask"
# The id placeholder the Functions host puts in managementUrls; the SDK replaces every
# occurrence of managementUrls["id"] with the real instance id.
INSTANCE_ID_PLACEHOLDER = "INSTANCEID"
# The storage connection name the Functions host reports for AzureWebJobsStorage.
DEFAULT_CONNECTION = "Storage"


def new_rpc_secret() -> str:
    """A fresh secret for the RPC path (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class DurableUrls:
    """Builds every durable URL from the front end's base URL (``http://host:port``)."""

    base_url: str
    hub_name: str
    system_key: str = field(repr=False)
    rpc_secret: str = field(repr=False)

    @property
    def webhook_base(self) -> str:
        """``{base}/runtime/webhooks/durabletask`` (no trailing slash, like ``baseUrl``)."""
        return self.base_url.rstrip("/") + WEBHOOK_PATH

    @property
    def rpc_base(self) -> str:
        """The secret RPC base the SDK client calls (with the trailing slash it expects)."""
        return f"{self.base_url.rstrip('/')}{RPC_PREFIX}{self.rpc_secret}{RPC_SUFFIX}/"

    @property
    def required_query(self) -> str:
        """``code=<system key>``, which every management URL carries."""
        return f"code={quote(self.system_key, safe='')}"

    def _suffix(self) -> str:
        """The query every management URL ends with: hub, connection, key."""
        hub = quote(self.hub_name, safe="")
        return f"taskHub={hub}&connection={DEFAULT_CONNECTION}&{self.required_query}"

    def management_urls(self, instance_id: str) -> dict[str, str]:
        """The URLs to check, signal, end or purge ``instance_id`` (as the host builds them)."""
        instance = f"{self.webhook_base}/instances/{quote(instance_id, safe='')}"
        suffix = self._suffix()
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{instance}?{suffix}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{suffix}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{suffix}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{suffix}",
            "purgeHistoryDeleteUri": f"{instance}?{suffix}",
            "restartPostUri": f"{instance}/restart?{suffix}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{suffix}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{suffix}",
        }

    def creation_urls(self) -> dict[str, str]:
        """Where to start orchestrations over the public webhook."""
        prefix = f"{self.webhook_base}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return {
            "createNewInstancePostUri": f"{prefix}?{self.required_query}",
            "createAndWaitOnNewInstancePostUri":
                f"{prefix}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}"
                f"&{self.required_query}",
        }

    def binding(self) -> dict[str, object]:
        """The durable-client binding payload."""
        return {
            "taskHubName": self.hub_name,
            "creationUrls": self.creation_urls(),
            "managementUrls": self.management_urls(INSTANCE_ID_PLACEHOLDER),
            "baseUrl": self.webhook_base,
            "requiredQueryStringParameters": self.required_query,
            "rpcBaseUrl": self.rpc_base,
            "httpBaseUrl": self.webhook_base,
        }

    def binding_json(self) -> str:
        """The binding payload as the JSON string the SDK's middleware expects."""
        return json.dumps(self.binding())
