"""The test kit's own errors: a name the app does not have, a host that never settles."""

from __future__ import annotations

from collections.abc import Iterable

from devhost.errors import HostError

__all__ = ["HostNotIdle", "UnknownFunction", "unknown"]


class UnknownFunction(HostError, LookupError):
    """The app has no function of that kind under that name; ``str()`` lists those it has."""


class HostNotIdle(HostError, TimeoutError):
    """The host still had work under way after the wall-clock bound (an activity that never
    returns, or an orchestration that keeps scheduling work that is due at once)."""


def unknown(kind: str, name: str, known: Iterable[str]) -> UnknownFunction:
    """The error for ``name``, which is not among the app's ``known`` functions of ``kind``."""
    names = ", ".join(repr(n) for n in sorted(known)) or "none"
    return UnknownFunction(f"the app has no {kind} named {name!r} (its {kind} functions: "
                           f"{names})")
