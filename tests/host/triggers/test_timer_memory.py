"""Timer triggers on the memory hub, on its virtual clock: schedules, startup and past-due runs.

The schedule monitor's rules are those of ``TimerListener.StartAsync`` / ``InvokeJobFunction``
and ``ScheduleMonitor.CheckPastDueAsync`` in the timer extension (azure-webjobs-sdk-extensions).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from devhost.clock import VirtualClock
from devhost.errors import AppLoadError
from devhost.taskhub.memory import MemoryTaskHub
from tests.host.triggers.conftest import (
    TIMER_APP,
    LocalStarter,
    inputs_of,
    settle,
    wait_for_inputs,
)
from tests.support.front_end import AppWriter

START = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
EVERY_TWO_HOURS = "0 0 */2 * * *"


def ticks(inputs: list[dict[str, object]]) -> list[dict[str, object]]:
    """The scheduled runs (not the run on startup)."""
    return [i for i in inputs if i["source"] == "tick"]


def iso(moment: datetime) -> str:
    """A moment as the schedule status writes it."""
    return moment.isoformat()


async def test_a_virtual_day_runs_every_occurrence_in_order(start_local: LocalStarter) -> None:
    """Advancing a day runs all twelve two-hourly occurrences, each with its own status."""
    clock = VirtualClock(START)
    hub = MemoryTaskHub(clock)
    await start_local(TIMER_APP, hub, TICK_SCHEDULE=EVERY_TWO_HOURS, TIMER_HUB="timers")
    await wait_for_inputs(hub, "record_tick", 1)  # the startup run only, so far
    await settle()
    assert ticks(await inputs_of(hub, "record_tick")) == []

    await clock.advance(timedelta(days=1))
    runs = ticks(await wait_for_inputs(hub, "record_tick", 13))
    assert len(runs) == 12
    dues = [START + timedelta(hours=2 * n) for n in range(1, 13)]
    assert [r["status"]["Next"] for r in runs] == [iso(d) for d in dues]  # type: ignore[index]
    # What the function sees is the status before its run: Last is the previous run.
    assert runs[0]["status"]["Last"] == "0001-01-01T00:00:00"  # type: ignore[index]
    assert [r["status"]["Last"] for r in runs[1:]] == [  # type: ignore[index]
        iso(d) for d in dues[:-1]]
    assert not any(r["past_due"] for r in runs)
    await settle()
    assert len(ticks(await inputs_of(hub, "record_tick"))) == 12


async def test_run_on_startup_runs_once_at_start(start_local: LocalStarter) -> None:
    """``run_on_startup`` runs the yearly timer at start, not past due, and not again."""
    clock = VirtualClock(START)
    hub = MemoryTaskHub(clock)
    await start_local(TIMER_APP, hub, TICK_SCHEDULE=EVERY_TWO_HOURS, TIMER_HUB="timers")
    (startup,) = await wait_for_inputs(hub, "record_tick", 1)
    assert startup["source"] == "startup" and startup["past_due"] is False
    # Its schedule is yearly, so Azure's default turns the monitor on: a status is shown.
    assert startup["status"]["Next"] == "2031-01-01T00:00:00+00:00"  # type: ignore[index]
    await clock.advance(timedelta(hours=1))
    await settle()
    assert [i["source"] for i in await inputs_of(hub, "record_tick")] == ["startup"]


async def test_a_host_down_over_a_due_time_runs_once_past_due(
        start_local: LocalStarter) -> None:
    """Stopped over three due times, the restarted host runs the timer once, past due."""
    clock = VirtualClock(START)
    hub = MemoryTaskHub(clock)
    first = await start_local(TIMER_APP, hub, TICK_SCHEDULE=EVERY_TWO_HOURS, TIMER_HUB="timers")
    await clock.advance(timedelta(hours=2))
    assert len(ticks(await wait_for_inputs(hub, "record_tick", 2))) == 1
    await first.stop()

    await clock.advance(timedelta(hours=7))  # 14:00 -> 21:00: 16, 18 and 20 missed
    await start_local(TIMER_APP, hub)
    runs = ticks(await wait_for_inputs(hub, "record_tick", 4))  # + the second startup run
    assert len(runs) == 2
    late = runs[1]
    assert late["past_due"] is True
    assert late["status"]["Next"] == iso(START + timedelta(hours=4))  # type: ignore[index]
    await settle()
    assert len(ticks(await inputs_of(hub, "record_tick"))) == 2  # once, not once per miss
    await clock.advance(timedelta(hours=1))  # 22:00 is the next occurrence
    runs = ticks(await wait_for_inputs(hub, "record_tick", 5))
    assert runs[2]["past_due"] is False
    assert runs[2]["status"]["Last"] == iso(START + timedelta(hours=9))  # type: ignore[index]


async def test_a_changed_schedule_is_not_past_due(start_local: LocalStarter) -> None:
    """A status written under another schedule is reset, not run as past due
    (``CheckPastDueAsync``: a changed schedule whose next occurrence passed)."""
    clock = VirtualClock(START)
    hub = MemoryTaskHub(clock)
    first = await start_local(TIMER_APP, hub, TICK_SCHEDULE="0 0 0 * * *", TIMER_HUB="timers")
    await first.stop()
    # 08:00 the next day: the old schedule's midnight run was missed, so under it the
    # timer would be past due now.
    await clock.advance(timedelta(hours=20))
    await start_local(TIMER_APP, hub, TICK_SCHEDULE="0 0 */6 * * *")
    await wait_for_inputs(hub, "record_tick", 2)
    await settle()
    assert ticks(await inputs_of(hub, "record_tick")) == []
    await clock.advance(timedelta(hours=4))  # the new schedule's next run is at 12:00
    runs = ticks(await wait_for_inputs(hub, "record_tick", 3))
    assert runs[0]["past_due"] is False
    assert runs[0]["status"]["Next"] == iso(START + timedelta(hours=24))  # type: ignore[index]


async def test_a_timespan_schedule_fires_each_interval(start_local: LocalStarter) -> None:
    """``hh:mm:ss`` fires that long after the last run (a TimeSpan schedule)."""
    clock = VirtualClock(START)
    hub = MemoryTaskHub(clock)
    await start_local(TIMER_APP, hub, TICK_SCHEDULE="01:30:00", TIMER_HUB="timers")
    await clock.advance(timedelta(hours=4))
    runs = ticks(await wait_for_inputs(hub, "record_tick", 3))
    assert [r["status"]["Next"] for r in runs] == [  # type: ignore[index]
        iso(START + timedelta(minutes=90)), iso(START + timedelta(minutes=180))]


async def test_a_schedule_that_never_comes_is_accepted_and_never_fires(
        start_local: LocalStarter) -> None:
    """February 30th: NCrontab finds no occurrence, and Azure's timer simply never fires."""
    clock = VirtualClock(START)
    hub = MemoryTaskHub(clock)
    await start_local(TIMER_APP, hub, TICK_SCHEDULE="0 0 0 30 2 *", TIMER_HUB="timers")
    await clock.advance(timedelta(days=400))
    await settle()
    assert ticks(await inputs_of(hub, "record_tick")) == []


@pytest.mark.parametrize(("schedule", "problem"), [
    ("0 0 25 * * *", "hour 25 is outside 0-23"),
    ("every hour", "was not recognized as a valid cron expression or timespan string"),
])
async def test_a_bad_schedule_stops_the_start(start_local: LocalStarter, schedule: str,
                                              problem: str) -> None:
    """A schedule Azure refuses stops the start, naming the function and the problem."""
    with pytest.raises(AppLoadError, match="function 'tick'") as refused:
        await start_local(TIMER_APP, MemoryTaskHub(VirtualClock(START)),
                          TICK_SCHEDULE=schedule, TIMER_HUB="timers")
    assert problem in str(refused.value)


async def test_an_unset_schedule_setting_stops_the_start(start_local: LocalStarter) -> None:
    """``%TICK_SCHEDULE%`` must name a setting that is set."""
    with pytest.raises(AppLoadError, match="'TICK_SCHEDULE', which is not set"):
        await start_local(TIMER_APP, MemoryTaskHub(VirtualClock(START)), TIMER_HUB="timers")


UNMONITORED_APP = """
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp()


@app.timer_trigger(arg_name="timer", schedule="0 0 * * * *", use_monitor=False)
@app.durable_client_input(client_name="client")
async def hourly(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    await client.start_new("record_tick", None,
                           {"past_due": timer.past_due, "status": timer.schedule_status})


@app.orchestration_trigger(context_name="context")
def record_tick(context):
    return context.get_input()
"""


async def test_without_the_monitor_there_is_no_status_and_no_past_due(
        start_local: LocalStarter, write_app: AppWriter) -> None:
    """``use_monitor=False``: the function sees an empty status, and a host that was down
    over a due time does not catch up (``TimerListener`` without a ``ScheduleMonitor``)."""
    folder = write_app(UNMONITORED_APP)
    clock = VirtualClock(START)
    hub = MemoryTaskHub(clock)
    first = await start_local(folder, hub)
    await clock.advance(timedelta(hours=1))
    (run,) = await wait_for_inputs(hub, "record_tick", 1)
    assert run == {"past_due": False, "status": {}}
    await first.stop()
    await clock.advance(timedelta(hours=3, minutes=30))
    await start_local(folder, hub)
    await settle()
    assert len(await inputs_of(hub, "record_tick")) == 1
    await clock.advance(timedelta(minutes=30))
    runs = await wait_for_inputs(hub, "record_tick", 2)
    assert runs[1] == {"past_due": False, "status": {}}
