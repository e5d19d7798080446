"""Stand-in activities: the app's activity functions, with some replaced by test fakes.

The workers read activities from a mapping each time they run one; this mapping answers
with a fake where the test registered one and with the app's own function otherwise, so a
fake takes effect for every activity scheduled after it is set.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from devhost.app.loader import ActivityFunction
from devhost.testing.errors import unknown

__all__ = ["ActivityFake", "ActivityMocks"]

# A fake receives the activity's input, decoded as the worker decodes it, and returns its
# result (sync), or a coroutine of it (async).
ActivityFake = Callable[[Any], Any]
# The keyword the engine passes a fake's input under.
_FAKE_INPUT = "input"


def _is_async(fake: ActivityFake) -> bool:
    """Whether calling ``fake`` gives a coroutine (an ``async def``, or an object whose
    ``__call__`` is one)."""
    return inspect.iscoroutinefunction(fake) or inspect.iscoroutinefunction(
        getattr(fake, "__call__", None))  # noqa: B004 - a callable object's own method


class ActivityMocks(Mapping[str, ActivityFunction]):
    """The app's activities by name, with the registered fakes in place of the real ones."""

    def __init__(self, activities: Mapping[str, ActivityFunction]) -> None:
        """Start with no fakes over the app's ``activities``."""
        self._real = activities
        self._fakes: dict[str, ActivityFunction] = {}

    def replace(self, name: str, fake: ActivityFake) -> None:
        """Run ``fake`` instead of activity ``name`` from now on.

        Raises ``UnknownFunction`` for a name the app has no activity under (the app's
        orchestrators could never call it), ``TypeError`` for a fake that is not callable.
        """
        if name not in self._real:
            raise unknown("activity", name, self._real)
        if not callable(fake):
            raise TypeError(f"the fake for activity {name!r} must be callable, "
                            f"not {type(fake).__name__}")
        is_async = _is_async(fake)

        def call_sync(**argument: Any) -> Any:
            return fake(argument[_FAKE_INPUT])

        async def call_async(**argument: Any) -> Any:
            return await fake(argument[_FAKE_INPUT])

        self._fakes[name] = ActivityFunction(name, call_async if is_async else call_sync,
                                             _FAKE_INPUT, is_async)

    def restore(self, name: str) -> None:
        """Run the app's own activity ``name`` again."""
        if name not in self._real:
            raise unknown("activity", name, self._real)
        self._fakes.pop(name, None)

    def __getitem__(self, name: str) -> ActivityFunction:
        return self._fakes.get(name) or self._real[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._real)

    def __len__(self) -> int:
        return len(self._real)
