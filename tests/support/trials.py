"""What the slow trials share: sizes from the environment, an order driver, fault windows,
the checks on pushes and timelines, and the figures printed at the end of the run.

The host, the HTTP API and polling come from tests.support.host_process.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.host_process import STAGE_RANK, OrderApi

STAGES = ("received", "processing", "awaiting_approval", "finished")
ENDED = frozenset({"Completed", "Failed", "Terminated"})
# Pushes are stamped by the emulator (in this process) with millisecond precision, and the
# windows by this process's wall clock: this much leeway covers the rounding.
CLOCK_SLACK_SECONDS = 0.25
DRIVER_POLL_SECONDS = 0.1

# Lines for the end of the run (the conftest prints them in the terminal summary).
FIGURES: list[str] = []


def env_int(name: str, default: int) -> int:
    """A positive whole number from the environment, else ``default``."""
    text = os.environ.get(name, "").strip()
    value = int(text) if text else default
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


def env_float(name: str, default: float) -> float:
    """A non-negative number from the environment, else ``default``."""
    text = os.environ.get(name, "").strip()
    value = float(text) if text else default
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {value}")
    return value


def report(line: str) -> None:
    """Print a figure now (visible with ``-s``) and again in the terminal summary."""
    print(line, flush=True)
    FIGURES.append(line)


def received_at(message: dict[str, Any]) -> float:
    """When the emulator accepted a push, as a POSIX timestamp."""
    return datetime.fromisoformat(message["receivedAt"].replace("Z", "+00:00")).timestamp()


def peak_rss_mib(pid: int) -> float:
    """The peak resident set (``VmHWM``) of a live process, in MiB."""
    return _status_kib(pid, "VmHWM") / 1024


def current_rss_mib(pid: int) -> float:
    """The resident set (``VmRSS``) of a live process, in MiB."""
    return _status_kib(pid, "VmRSS") / 1024


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a live process has used so far, in seconds."""
    # Fields after the command name, which is in parentheses and may contain spaces.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    raise AssertionError(f"/proc/{pid}/status has no {name}")


@dataclass(frozen=True)
class FaultWindow:
    """A fault (a killed host, stopped storage) and the time it takes to recover from it.

    ``began``: just before the fault; ``ended``: the fault is over (host reaped, storage
    back); ``recovered``: the system runs again (host answering, storage listening). All
    POSIX timestamps of this process's wall clock.
    """

    began: float
    ended: float
    recovered: float

    def explains(self, later: float, settle: float) -> bool:
        """Whether a push repeated at ``later`` is this fault's doing.

        At-least-once delivery repeats work the fault cut off, after the fault began and
        no later than ``settle`` seconds after recovery (leased work comes back after the
        visibility timeout). The first copy may have gone out before the fault (its
        completion was cut off) or after it as well: an episode cut off before its commit
        runs again and schedules its activity a second time, beside the copy it had sent.
        """
        return self.began - CLOCK_SLACK_SECONDS <= later <= self.recovered + settle


def check_pushes(order_id: str, messages: Iterable[dict[str, Any]], stages: Iterable[str],
                 windows: Iterable[FaultWindow] = (), settle: float = 0.0) -> int:
    """Every stage reached the phone, each under its own seq; return how many were repeats.

    A repeat must carry the seq of the stage it repeats (so the phone drops it) and come
    inside one of ``windows``; with no windows, no repeat is allowed at all.
    """
    expected = {str(seq): stage for seq, stage in enumerate(stages, start=1)}
    copies: dict[str, list[tuple[float, str]]] = {}
    for message in messages:
        data = message["data"]
        assert data["orderId"] == order_id, message
        copies.setdefault(data["seq"], []).append((received_at(message), data["stage"]))
    got = {seq: sorted({stage for _at, stage in found}) for seq, found in copies.items()}
    assert got == {seq: [stage] for seq, stage in expected.items()}, (
        f"{order_id}: pushes by seq {got}, expected {expected}")
    windows = list(windows)
    repeats = 0
    for seq, found in copies.items():
        times = sorted(at for at, _stage in found)
        for first, later in itertools.pairwise(times):
            repeats += 1
            assert any(w.explains(later, settle) for w in windows), (
                f"{order_id}: seq {seq} ({expected[seq]}) pushed again at {later:.3f} after "
                f"{first:.3f}, outside every fault window {windows}")
    # What the phone shows after dropping repeats by seq and ordering by it.
    phone = [expected[seq] for seq in sorted(copies, key=int)]
    assert phone == list(stages), f"{order_id}: the phone would show {phone}"
    return repeats


def check_timeline(body: dict[str, Any], stages: Iterable[str]) -> None:
    """Completed in the last of ``stages``; the timeline and result name each stage once."""
    stages = list(stages)
    assert body["runtimeStatus"] == "Completed", body
    assert body["stage"] == stages[-1], body
    assert [(e["stage"], e["seq"]) for e in body["timeline"]] == [
        (stage, seq) for seq, stage in enumerate(stages, start=1)], body["timeline"]
    assert [r["stage"] for r in body["result"]] == stages, body["result"]
    assert all(e["push"]["outcome"] == "sent" for e in body["timeline"]), body["timeline"]


@dataclass
class OrderDriver:
    """One customer and the staff for one order, on a thread, through any number of faults.

    Places the order (again after a refused or cut-off attempt: the same id is a safe
    retry), polls its status, approves once as soon as it is awaiting approval, and stops
    when it has ended. A refused or cut-off request (host down, storage down) is tried
    again; anything else unexpected fails the driver. Approval is sent only until one is
    accepted: an accepted approval that got lost would leave the order waiting.
    """

    api: OrderApi
    order_id: str
    start_delay: float
    deadline: float  # time.monotonic() by which the order must have ended
    approve: bool = True
    placed: int | None = None  # the status code of the accepted placement (202 or 200)
    place_attempts: int = 0
    approvals_accepted: int = 0
    refused: int = 0  # 503 answers and cut-off connections
    seen: list[str] = field(default_factory=list)
    final: dict[str, Any] | None = None

    def run(self) -> OrderDriver:
        """Drive the order until it ends; AssertionError if it does not by the deadline."""
        time.sleep(self.start_delay)
        while time.monotonic() < self.deadline:
            try:
                if self._step():
                    return self
            except requests.RequestException:
                self.refused += 1  # the host is down or restarting: try again
            time.sleep(DRIVER_POLL_SECONDS)
        raise AssertionError(f"{self.order_id} did not end in time: placed={self.placed}, "
                             f"approvals={self.approvals_accepted}, seen={self.seen}\n"
                             f"{self.api.host.log_tail()}")

    def _step(self) -> bool:
        if self.placed is None:
            self.place_attempts += 1
            reply = self.api.place(self.order_id)
            if reply.status_code == 503:
                self.refused += 1
                return False
            assert reply.status_code in (200, 202), f"{self.order_id} place: {reply.text}"
            self.placed = reply.status_code
            return False
        reply = self.api.status(self.order_id)
        if reply.status_code == 503:
            self.refused += 1
            return False
        # Once placement was accepted the order must exist: a 404 means it was lost.
        assert reply.status_code == 200, f"{self.order_id} status {reply.status_code}"
        body: dict[str, Any] = reply.json()
        stage = body["stage"]
        if self.seen and STAGE_RANK[stage] < STAGE_RANK[self.seen[-1]]:
            raise AssertionError(f"{self.order_id}: stage went back from {self.seen[-1]} "
                                 f"to {stage}")
        if not self.seen or self.seen[-1] != stage:
            self.seen.append(stage)
        if body["runtimeStatus"] in ENDED:
            self.final = body
            return True
        if (self.approve and stage == "awaiting_approval" and self.approvals_accepted == 0
                and body.get("approval", {}).get("outcome") is None):
            self._approve()
        return False

    def _approve(self) -> None:
        reply = self.api.approve(self.order_id)
        if reply.status_code == 202:
            self.approvals_accepted += 1
        elif reply.status_code == 503:
            self.refused += 1
        else:
            # 409: the status moved on since it was read (an approval sent before a crash
            # whose answer was lost has been applied); 410: it has ended. Polling sees it.
            assert reply.status_code in (409, 410), (
                f"{self.order_id} approve {reply.status_code}: {reply.text}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Repeat the trials' figures (crashes survived, throughput, memory) at the end."""
    if not FIGURES:
        return
    terminalreporter.section("slow trials: figures")
    for line in FIGURES:
        terminalreporter.write_line(line)
