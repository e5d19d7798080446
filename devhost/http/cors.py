"""Cross-origin requests, answered as Core Tools answers them for ``Host.CORS``.

Core Tools reads ``Host.CORS`` (origins separated by commas, no spaces) and
``Host.CORSCredentials`` from ``local.settings.json`` and puts ASP.NET Core's CORS middleware
in front of the whole host (``Startup.cs``: ``WithOrigins(...).AllowAnyHeader()
.AllowAnyMethod()``, plus ``AllowCredentials()`` when asked). That middleware
(``CorsMiddleware.cs``, ``CorsService.cs``, ``CorsPolicy.cs``) keeps these rules:

* a request without an ``Origin`` header is no CORS request: nothing is added;
* a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered 204 by the
  middleware itself, whatever the path, with the ``Access-Control-Allow-*`` headers only
  when the origin is allowed;
* an allowed origin gets ``Access-Control-Allow-Origin`` (``*`` when the policy is exactly
  ``*``, else the request's own origin), ``Access-Control-Allow-Credentials: true`` with
  credentials, ``Vary: Origin`` when more than one origin is listed; a preflight also gets
  the method and the headers it asked for; an origin not allowed gets none of them;
* origins compare exactly (ordinal), after the configured ones were lower-cased;
* ``*`` together with credentials is refused (``CorsPolicyBuilder.Build``), so the host
  does not start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from devhost.errors import AppLoadError

__all__ = ["ANY_ORIGIN", "CorsPolicy", "is_preflight"]

ANY_ORIGIN = "*"
ORIGIN = "Origin"
REQUEST_METHOD = "Access-Control-Request-Method"
REQUEST_HEADERS = "Access-Control-Request-Headers"
ALLOW_ORIGIN = "Access-Control-Allow-Origin"
ALLOW_CREDENTIALS = "Access-Control-Allow-Credentials"
ALLOW_METHODS = "Access-Control-Allow-Methods"
ALLOW_HEADERS = "Access-Control-Allow-Headers"
# Resources.InsecureConfiguration of ASP.NET Core's CORS middleware.
INSECURE_CONFIGURATION = (
    "The CORS protocol does not allow specifying a wildcard (any) origin and credentials at "
    "the same time. Configure the CORS policy by listing individual origins if credentials "
    "needs to be supported.")


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    """``OPTIONS`` (any case) carrying ``Access-Control-Request-Method``."""
    return method.upper() == "OPTIONS" and REQUEST_METHOD in headers


def _normalized(origin: str) -> str:
    """A configured origin as ``WithOrigins`` keeps it: lower-cased (ASCII hosts)."""
    return origin.lower()


@dataclass(frozen=True)
class CorsPolicy:
    """The origins a host allows, and whether credentials are allowed with them."""

    origins: tuple[str, ...]
    credentials: bool = False

    @classmethod
    def from_setting(cls, text: str, credentials: bool, where: str) -> CorsPolicy | None:
        """The policy for a ``Host.CORS`` value (None when it names no origin).

        Split on commas with empty entries dropped and nothing trimmed, as Core Tools
        splits it. Raises ``AppLoadError`` for ``*`` with credentials.
        """
        origins = tuple(_normalized(part) for part in text.split(",") if part)
        if not origins:
            return None
        policy = cls(origins, credentials)
        if policy.any_origin and credentials:
            raise AppLoadError(f"{where}: {INSECURE_CONFIGURATION}")
        return policy

    @property
    def any_origin(self) -> bool:
        """True only when ``*`` is the one origin listed (``CorsPolicy.AllowAnyOrigin``)."""
        return self.origins == (ANY_ORIGIN,)

    def allows(self, origin: str) -> bool:
        """Whether a request from ``origin`` takes part (an empty origin never does)."""
        if not origin:
            return False
        return self.any_origin or origin in self.origins

    def headers_for(self, method: str, headers: Mapping[str, str]) -> dict[str, str]:
        """The CORS headers to add to the answer of a request with these headers.

        Empty for a request without ``Origin`` or from an origin the policy does not allow.
        """
        origin = headers.get(ORIGIN)
        if origin is None or not self.allows(origin):
            return {}
        added = {ALLOW_ORIGIN: ANY_ORIGIN if self.any_origin else origin}
        if self.credentials:
            added[ALLOW_CREDENTIALS] = "true"
        if is_preflight(method, headers):
            # AllowAnyHeader and AllowAnyMethod echo what the preflight asked for.
            asked = [part.strip() for part in headers.get(REQUEST_HEADERS, "").split(",")]
            asked = [part for part in asked if part]
            if asked:
                added[ALLOW_HEADERS] = ",".join(asked)
            requested = headers.get(REQUEST_METHOD, "")
            if requested:
                added[ALLOW_METHODS] = requested
        if not self.any_origin and len(self.origins) > 1:
            added["Vary"] = ORIGIN
        return added
