"""``kill -9`` of a host with queue messages in flight and with a timer due while it is down.

Queue: messages the killed host had received but not deleted come back after their hide
time (``--visibility-timeout``) and the restarted host processes them, so nothing is lost.
Allowed duplicates (Azure's queue trigger is at least once too): a message whose function
had already started its orchestration when the kill came, but whose delete had not reached
storage, runs again and starts a second orchestration for the same body (and, if its reply
was written too, a second reply). So every body has at least one orchestration, every
message ends with at least one reply, and there are never more replies than orchestrations
(a reply is written only after its orchestration started).

Timer: a host killed over a due time finds, on restart, the schedule status it wrote
before, and runs the timer once with ``past_due`` True.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.queue import QueueClient

from devhost.local.azurite import AzuriteProcess
from devhost.taskhub.azure.hub import AzureStorageTaskHub
from tests.host.triggers.conftest import QUEUE_APP, TIMER_APP, inputs_of
from tests.host.triggers.processes import ServedApp

pytestmark = [pytest.mark.e2e, pytest.mark.azurite]

MESSAGES = 60
WAIT_SECONDS = 90.0


@pytest.fixture
def served(azurite: AzuriteProcess, tmp_path: Path) -> Iterator[list[ServedApp]]:
    """Child hosts made by the test; each is stopped afterwards."""
    hosts: list[ServedApp] = []
    yield hosts
    for host in hosts:
        host.stop()


async def read_inputs(azurite: AzuriteProcess, hub: str, name: str) -> list[dict[str, object]]:
    """The inputs of every ``name`` instance on the hub, read from storage."""
    task_hub = AzureStorageTaskHub(azurite.connection_string, hub)
    try:
        return await inputs_of(task_hub, name)
    finally:
        await task_hub.close()


def wait_until(check, what: str, host: ServedApp):  # type: ignore[no-untyped-def]
    """Poll ``check()`` until truthy; fail with the host's log otherwise."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached; log:\n{host.log_text()[-3000:]}")
        time.sleep(0.2)


def test_queue_messages_in_flight_survive_a_kill(azurite: AzuriteProcess, tmp_path: Path,
                                                served: list[ServedApp]) -> None:
    """Kill -9 with messages being processed: after a restart every message has started an
    orchestration (at least once), and no successful run is lost or invented."""
    hub = f"kill{uuid.uuid4().hex[:10]}"
    queue = f"jobs{uuid.uuid4().hex[:10]}"
    host = ServedApp(QUEUE_APP, azurite.connection_string, hub, tmp_path,
                     env={"JOBS_QUEUE": queue, "JOBS_HUB": hub, "JOBS_DELAY_SECONDS": "0.3"})
    served.append(host)
    host.start()
    sender = QueueClient.from_connection_string(azurite.connection_string, queue)
    bodies = [f"body-{n}" for n in range(MESSAGES)]
    with sender:
        sender.create_queue()
        for body in bodies:
            sender.send_message(base64.b64encode(body.encode()).decode())

    def started() -> list[dict[str, object]]:
        return asyncio.run(read_inputs(azurite, hub, "job"))

    wait_until(lambda: len(started()) >= 10, "the first orchestrations", host)
    host.kill()
    before = len(started())
    assert before < MESSAGES, "all done before the kill: nothing was in flight"
    host.start()
    done = wait_until(lambda: (found := started()) and
                      {i["body"] for i in found} == set(bodies) and found, "every body", host)
    assert set(Counter(str(i["body"]) for i in done)) == set(bodies)  # none lost

    def count(name: str) -> int:
        with QueueClient.from_connection_string(azurite.connection_string, name) as client:
            return int(client.get_queue_properties().approximate_message_count or 0)

    wait_until(lambda: count(queue) == 0, "the jobs queue drained", host)
    replies = wait_until(lambda: (n := count(f"{queue}-done")) >= MESSAGES and n,
                         "a reply per message", host)
    assert replies <= len(started())


def test_a_timer_due_while_the_host_was_killed_runs_past_due(
        azurite: AzuriteProcess, tmp_path: Path, served: list[ServedApp]) -> None:
    """Kill -9, stay down over due times, restart: one run with ``past_due`` True."""
    hub = f"tick{uuid.uuid4().hex[:10]}"
    host = ServedApp(TIMER_APP, azurite.connection_string, hub, tmp_path,
                     env={"TICK_SCHEDULE": "*/2 * * * * *", "TIMER_HUB": hub})
    served.append(host)
    host.start()

    def ticks() -> list[dict[str, object]]:
        found = asyncio.run(read_inputs(azurite, hub, "record_tick"))
        return [i for i in found if i["source"] == "tick"]

    wait_until(lambda: len(ticks()) >= 1, "a first tick", host)
    host.kill()
    before = ticks()
    assert not any(t["past_due"] for t in before)
    time.sleep(4.5)  # at least two due times pass while no host runs
    host.start()
    after = wait_until(lambda: (found := ticks()) and len(found) > len(before) and found,
                       "a tick after the restart", host)
    first = after[len(before)]
    assert first["past_due"] is True
    assert sum(1 for t in after if t["past_due"]) == 1
