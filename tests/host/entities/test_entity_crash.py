"""kill -9 of the host while entity operations are in flight, on Azurite: nothing is lost,
nothing applied twice beyond what the SDK's contract allows.

What at-least-once allows here: a client's ``signal_entity`` whose HTTP call failed (the
host died during it) may or may not have been queued, and a caller who sends it again may
get it applied twice; the test never resends, and counts such signals as "unknown" (the
total may include any of them). A signal the host answered 202 is queued and is applied
exactly once. Calls and signals from orchestrations are applied exactly once: their request
ids are fixed by the caller's instance, execution and task id, so an episode run again
after the crash sends the same requests, and the entity remembers the ids it applied.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.local.azurite import AzuriteProcess
from tests.host.entities.conftest import COUNTER_APP, unique_key
from tests.support.host_process import (
    LOOPBACK,
    HostProcess,
    assert_eventually,
    unique_hub,
)

pytestmark = [pytest.mark.e2e, pytest.mark.azurite]

CALLS_PER_ORCHESTRATION = 30
ORCHESTRATIONS = 3
# Generous: on a loaded machine a restart and 30 calls in a row can take a minute or more.
RECOVERY_SECONDS = 180.0
START_SECONDS = 90.0
HTTP_TIMEOUT = 10.0


class CounterHost(HostProcess):
    """``python -m devhost serve`` for the counter app."""

    def command(self) -> list[str]:
        """The command line of the child, hosting the counter app."""
        return [*super().command()[:4], "--app", str(COUNTER_APP),
                "--host", LOOPBACK, "--port", str(self.port), "--storage", self.storage,
                "--hub", self.hub, "--visibility-timeout", str(self.visibility_timeout),
                "--log-level", "INFO"]


class SignalStream(threading.Thread):
    """Signals ``add 1`` to one counter through the app's route until stopped; counts the
    signals answered 202 and those whose call failed (their fate unknown)."""

    def __init__(self, host: HostProcess, key: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{host.base_url}/api/counters/{key}/add"
        self.accepted = 0
        self.unknown = 0
        self._halt = threading.Event()

    def run(self) -> None:
        """Send until stopped, a little pause between signals."""
        while not self._halt.is_set():
            try:
                reply = requests.post(self.url, json=1, timeout=HTTP_TIMEOUT)
                if reply.status_code == 202:
                    self.accepted += 1
                else:
                    self.unknown += 1
            except requests.RequestException:
                self.unknown += 1
                time.sleep(0.1)
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop sending and wait for the last call."""
        self._halt.set()
        self.join(timeout=HTTP_TIMEOUT * 2)


def get(host: HostProcess, path: str) -> requests.Response:
    """GET ``path``; a host too busy to answer in time is "not yet" (AssertionError) for
    the waits, not a failure."""
    try:
        return requests.get(f"{host.base_url}{path}", timeout=HTTP_TIMEOUT)
    except requests.RequestException as error:
        raise AssertionError(f"GET {path} got no answer: {error}") from None


def counter_value(host: HostProcess, key: str) -> int | None:
    """The counter's state through the SDK's ``read_entity_state`` (None if absent)."""
    reply = get(host, f"/api/counters/{key}")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    return body["state"] if body["exists"] else None


def read_when_answered(host: HostProcess, key: str) -> int | None:
    """The counter's state, asking again while the host is too busy to answer."""
    (value,) = assert_eventually(lambda: (counter_value(host, key),),
                                 timeout=RECOVERY_SECONDS, what=f"an answer for {key}")
    return value


def orchestration(host: HostProcess, instance_id: str) -> dict[str, Any]:
    """An orchestration's status through the SDK's ``get_status``."""
    reply = get(host, f"/api/status/{instance_id}")
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_entity_operations_survive_a_killed_host(azurite: AzuriteProcess,
                                                 tmp_path: Path) -> None:
    """Orchestrations calling their counters one add at a time and a stream of client
    signals, kill -9 of the host mid-way and a restart on the same hub: every call answers
    the running sum exactly once, and the signalled counter counts every accepted signal."""
    host = CounterHost(azurite.connection_string, unique_hub("entcrash"), tmp_path,
                       {"PYTHONUNBUFFERED": "1"}, visibility_timeout=3.0)
    try:
        host.start(START_SECONDS)
        keys = [unique_key(f"crash{n}") for n in range(ORCHESTRATIONS)]
        ids = []
        for key in keys:
            started = requests.post(f"{host.base_url}/api/start/call_and_signal",
                                    json={"key": key, "calls": [1] * CALLS_PER_ORCHESTRATION},
                                    timeout=HTTP_TIMEOUT)
            assert started.status_code == 202, started.text
            ids.append(started.json()["id"])
        stream_key = unique_key("stream")
        stream = SignalStream(host, stream_key)
        stream.start()
        # Kill once some calls were answered, while the rest are still under way.
        assert_eventually(lambda: (counter_value(host, keys[0]) or 0) >= 3,
                          timeout=RECOVERY_SECONDS,
                          what="the first calls answered", details=host.log_tail)
        killed_at = [read_when_answered(host, key) or 0 for key in keys]
        host.kill()
        # The kill came mid-way: calls were still to come (one at a time, each an episode).
        assert min(killed_at) < CALLS_PER_ORCHESTRATION, killed_at
        time.sleep(0.5)
        host.start(START_SECONDS)
        time.sleep(1.0)
        stream.stop()

        for instance_id in ids:
            done = assert_eventually(
                lambda instance_id=instance_id: (
                    body if (body := orchestration(host, instance_id))["runtimeStatus"]
                    in ("Completed", "Failed") else None),
                timeout=RECOVERY_SECONDS, interval=0.2, what=f"{instance_id} ending",
                details=host.log_tail)
            assert done["runtimeStatus"] == "Completed", done
            assert done["output"] == {
                "answers": list(range(1, CALLS_PER_ORCHESTRATION + 1)),
                "final": CALLS_PER_ORCHESTRATION}
        for key in keys:
            assert read_when_answered(host, key) == CALLS_PER_ORCHESTRATION

        assert stream.accepted > 0
        assert_eventually(lambda: (counter_value(host, stream_key) or 0) >= stream.accepted,
                          timeout=RECOVERY_SECONDS, interval=0.2,
                          what="every accepted signal applied", details=host.log_tail)
        # Leased messages of the killed host come back after the visibility timeout: wait
        # past it, then nothing was applied twice.
        time.sleep(host.visibility_timeout + 2.0)
        final = read_when_answered(host, stream_key) or 0
        assert stream.accepted <= final <= stream.accepted + stream.unknown, (
            final, stream.accepted, stream.unknown)
    finally:
        host.stop()
