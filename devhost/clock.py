"""Clocks: the wall clock for real runs, a virtual one that tests move by hand.

Everything in the host that reads time takes a clock, so a 30-minute timeout can
run in milliseconds under test.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    """A source of the current UTC time that can also wait until a moment."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep_until(self, moment: datetime, wake: asyncio.Event | None = None) -> None:
        """Return at ``moment`` (or earlier when ``wake`` is set)."""
        ...


async def wait_at_most(seconds: float, waiting: Awaitable[object]) -> bool:
    """Await ``waiting`` for at most ``seconds``; True when it finished in time.

    A cancel of the caller always propagates: ``asyncio.wait_for`` on Python 3.11 can
    swallow one that arrives as the wait ends, and a stopping worker then waits out its
    whole poll.
    """
    if sys.version_info >= (3, 11):
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await waiting
        except TimeoutError:
            return False
        return True
    try:
        await asyncio.wait_for(waiting, max(seconds, 0.0))
    except asyncio.TimeoutError:
        return False
    return True


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(timezone.utc)

    async def sleep_until(self, moment: datetime, wake: asyncio.Event | None = None) -> None:
        """Sleep until ``moment`` or until ``wake`` is set."""
        delay = max(0.0, (moment - self.now()).total_seconds())
        if wake is None:
            await asyncio.sleep(delay)
            return
        await wait_at_most(delay, wake.wait())


class VirtualClock:
    """A clock that stands still until :meth:`advance` moves it; waiters wake as it passes."""

    def __init__(self, start: datetime | None = None) -> None:
        """Start at ``start`` (default: a fixed, recognisable moment)."""
        self._now = start or datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
        self._moved = asyncio.Condition()
        self._listeners: list[Callable[[], Awaitable[None]]] = []

    def subscribe(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Call ``listener`` after every advance (task hubs use it to re-check timers)."""
        self._listeners.append(listener)

    def now(self) -> datetime:
        """The virtual present."""
        return self._now

    async def sleep_until(self, moment: datetime, wake: asyncio.Event | None = None) -> None:
        """Wait until the clock has been advanced to ``moment`` (or ``wake`` is set)."""
        async with self._moved:
            await self._moved.wait_for(
                lambda: self._now >= moment or (wake is not None and wake.is_set())
            )

    async def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move time forward by ``delta`` or by keyword parts (``minutes=30``)."""
        step = delta or timedelta(**parts)
        if step < timedelta(0):
            raise ValueError("a clock only moves forward")
        async with self._moved:
            self._now += step
            self._moved.notify_all()
        for listener in list(self._listeners):
            await listener()
        return self._now

    async def poke(self) -> None:
        """Re-check every sleeper's wake condition (used when a wake event is set)."""
        async with self._moved:
            self._moved.notify_all()
