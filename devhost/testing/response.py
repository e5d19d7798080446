"""An HTTP answer as a test reads it: status code, headers, text and the JSON body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDictProxy

__all__ = ["Response"]


@dataclass(frozen=True)
class Response:
    """What an app's HTTP function (or the host) answered a request with.

    ``headers`` are case-insensitive (``headers["location"]`` finds ``Location``).
    """

    status_code: int
    headers: CIMultiDictProxy[str]
    content: bytes

    @property
    def text(self) -> str:
        """The body as text (UTF-8; undecodable bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON; ``ValueError`` when it is not JSON."""
        return json.loads(self.content)
