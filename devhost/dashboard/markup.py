"""The pages' shared frame and the small pieces every page is built from.

Everything that comes from an instance or a request goes through ``text`` (escaped) or
``attr`` (escaped for an attribute); nothing else builds markup from data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from html import escape
from urllib.parse import quote, urlencode

from devhost.dashboard.guard import TOKEN_FIELD

__all__ = ["BASE", "attr", "instance_url", "json_block", "list_url", "moment", "page",
           "text", "token_input"]

BASE = "/_devhost/"


def text(value: object) -> str:
    """``value`` as escaped text."""
    return escape(str(value), quote=False)


def attr(value: object) -> str:
    """``value`` escaped for a double-quoted attribute."""
    return escape(str(value), quote=True)


def instance_url(instance_id: str) -> str:
    """The dashboard page of one instance (the id as one percent-encoded segment)."""
    return f"{BASE}instances/{quote(instance_id, safe='')}"


def list_url(query: Mapping[str, str]) -> str:
    """The instance list with ``query``."""
    return BASE + (f"?{urlencode(dict(query))}" if query else "")


def moment(value: datetime | None) -> str:
    """A time as the pages show it: UTC, to the millisecond."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def json_block(json_text: str | None, css_class: str) -> str:
    """JSON text shown indented (as written when it is not JSON); ``null`` when absent."""
    if json_text is None:
        shown = "null"
    else:
        try:
            shown = json.dumps(json.loads(json_text), indent=2, ensure_ascii=False)
        except ValueError:
            shown = json_text
    return f'<pre class="json {attr(css_class)}">{text(shown)}</pre>'


def token_input(token: str) -> str:
    """The hidden field that carries the run's action token."""
    return f'<input type="hidden" name="{TOKEN_FIELD}" value="{attr(token)}">'


def page(title: str, hub_name: str, body: str, notice: str = "", error: str = "") -> str:
    """A whole page: head with the dashboard's own stylesheet and script, header, body."""
    banners = ""
    if notice:
        banners += f'<p class="notice" role="status">{text(notice)}</p>'
    if error:
        banners += f'<p class="error" role="alert">{text(error)}</p>'
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{text(title)} · devhost</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="stylesheet" href="{BASE}static/dashboard.css">'
        f'<script src="{BASE}static/dashboard.js" defer></script></head><body>'
        f'<header><a class="home" href="{BASE}">devhost dashboard</a>'
        f'<span class="hub">task hub <b>{text(hub_name)}</b></span></header>'
        f"<main>{banners}{body}</main></body></html>")
