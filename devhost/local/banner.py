"""What ``make run`` prints once everything is up: where to go and what to try.

The "try it" lines come from the app: the text of an optional ``try-it.txt`` in the app
folder (``{api}``, ``{base_url}`` and ``{function_key}`` filled in), or else one curl line
per HTTP route, with the key header on routes that need one.
"""

from __future__ import annotations

from pathlib import Path

from devhost.app.loader import FunctionIndex, HttpFunction
from devhost.http.keys import HostKeys

__all__ = ["TRY_IT_FILE", "banner"]

# An app's own "try it" lines for the banner; not deployed (list it in .funcignore).
TRY_IT_FILE = "try-it.txt"
ANONYMOUS = "anonymous"


def banner(base_url: str, route_prefix: str, index: FunctionIndex, keys: HostKeys,
           fcm_url: str | None, storage: str) -> str:
    """The start-up text: routes with their auth, the function key, and lines to try."""
    api = f"{base_url}/{route_prefix}" if route_prefix else base_url
    lines = [f"Local host ready on {base_url}  (task hub storage: {storage})", "", "Routes:"]
    for function in sorted(index.http, key=lambda f: f.route):
        methods = ",".join(function.methods) if function.methods else "ANY"
        lines.append(f"  {methods:<6} {api}/{function.route}"
                     f"   [{function.auth_level}] {function.name}")
    lines += ["", f"Function key (header x-functions-key): {keys.function_key}",
              f"Dashboard: {base_url}/_devhost/  (instances, history, actions)"]
    if fcm_url:
        lines.append(f"FCM emulator: {fcm_url}  (pushes received: {fcm_url}/emulator/messages)")
        lines.append(f"Device simulator: {fcm_url}/?token=<a device token>")
    tries = try_lines(index, api, base_url, keys.function_key)
    if tries:
        lines += ["", "Try it:", *(f"  {line}" for line in tries)]
    lines += ["", "Ctrl-C stops the host and everything it started."]
    return "\n".join(lines)


def try_lines(index: FunctionIndex, api: str, base_url: str, function_key: str) -> list[str]:
    """The app's ``try-it.txt`` filled in, or one curl line per HTTP route."""
    path = Path(index.app_dir) / TRY_IT_FILE
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        for name, value in (("{api}", api), ("{base_url}", base_url),
                            ("{function_key}", function_key)):
            text = text.replace(name, value)
        return [line.rstrip() for line in text.strip().splitlines()]
    return [_curl(function, api, function_key)
            for function in sorted(index.http, key=lambda f: f.route)]


def _curl(function: HttpFunction, api: str, function_key: str) -> str:
    """A curl line for one route: its first method, its template as the path."""
    method = function.methods[0] if function.methods else "GET"
    parts = ["curl -si"]
    if method != "GET":
        parts.append(f"-X {method}")
    parts.append(f"'{api}/{function.route}'")
    if function.auth_level != ANONYMOUS:
        parts.append(f"-H 'x-functions-key: {function_key}'")
    return " ".join(parts)
