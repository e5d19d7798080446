"""What ``make run`` prints once everything is up: where to go and what to try."""

from __future__ import annotations

from devhost.app.loader import FunctionIndex
from devhost.http.keys import HostKeys


def banner(base_url: str, route_prefix: str, index: FunctionIndex, keys: HostKeys,
           fcm_url: str | None, storage: str) -> str:
    """The start-up text: routes with their auth, the staff key, and curl lines to try."""
    prefix = f"/{route_prefix}" if route_prefix else ""
    lines = [f"Local host ready on {base_url}  (task hub storage: {storage})", "", "Routes:"]
    for function in sorted(index.http, key=lambda f: f.route):
        methods = ",".join(function.methods) if function.methods else "ANY"
        lines.append(f"  {methods:<6} {base_url}{prefix}/{function.route}"
                     f"   [{function.auth_level}] {function.name}")
    lines += [
        "",
        f"Function key (staff routes, header x-functions-key): {keys.function_key}",
    ]
    if fcm_url:
        lines.append(f"FCM emulator: {fcm_url}  (pushes received: {fcm_url}/emulator/messages)")
    if any(f.route == "orders" for f in index.http):
        api = f"{base_url}{prefix}"
        lines += [
            "",
            "Try it:",
            f"  curl -si -X POST {api}/orders -H 'content-type: application/json' \\",
            "    -d '{\"regId\": \"device-1\", \"orderId\": \"pizza-0001\", "
            "\"items\": [{\"name\": \"Neapolitan pizza with pineapple\", \"quantity\": 1}]}'",
            f"  curl -s {api}/orders/pizza-0001",
            f"  curl -si -X POST {api}/orders/pizza-0001/approve "
            f"-H 'x-functions-key: {keys.function_key}' \\",
            "    -H 'content-type: application/json' -d '{\"approved\": true}'",
        ]
    lines += ["", "Ctrl-C stops the host and everything it started."]
    return "\n".join(lines)
