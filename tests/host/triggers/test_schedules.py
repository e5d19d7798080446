"""NCRONTAB and TimeSpan schedules, and the queues options, read as Azure reads them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from devhost.errors import AppLoadError
from devhost.triggers.options import QueuesOptions, load_queues_options, parse_timespan
from devhost.triggers.schedule_status import NEVER, ScheduleStatus
from devhost.triggers.schedules import (
    NEVER_FIRES,
    CronSchedule,
    IntervalSchedule,
    ScheduleError,
    parse_schedule,
)
from devhost.triggers.timer import monitor_default, past_due_status

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=timezone.utc)  # a Tuesday


def upcoming(expression: str, count: int, start: datetime = T0) -> list[datetime]:
    """The next ``count`` occurrences after ``start``."""
    schedule = parse_schedule(expression)
    found, moment = [], start
    for _ in range(count):
        moment = schedule.next_after(moment)
        found.append(moment)
    return found


def at(*parts: int) -> datetime:
    """A UTC moment."""
    return datetime(*parts, tzinfo=timezone.utc)  # type: ignore[misc]


def test_seconds_come_first() -> None:
    """``*/2 * * * * *`` is every two seconds; ``0 */5 * * * *`` every five minutes."""
    assert upcoming("*/2 * * * * *", 3) == [T0 + timedelta(seconds=s) for s in (2, 4, 6)]
    assert upcoming("0 */5 * * * *", 2) == [T0 + timedelta(minutes=m) for m in (5, 10)]


def test_five_fields_have_no_seconds() -> None:
    """Five fields are minute-first, at second 0 (NCrontab's short form)."""
    assert upcoming("30 9 * * *", 2) == [at(2030, 1, 2, 9, 30), at(2030, 1, 3, 9, 30)]


def test_lists_ranges_steps_and_names() -> None:
    """Lists, ranges, ``a/n`` steps, and month and day names (any case)."""
    assert upcoming("0 0 9-17/4 * * *", 3) == [
        at(2030, 1, 1, 13), at(2030, 1, 1, 17), at(2030, 1, 2, 9)]
    assert upcoming("0 15,45 12 * * *", 2) == [at(2030, 1, 1, 12, 15), at(2030, 1, 1, 12, 45)]
    assert upcoming("0 0 0 * * mon-fri", 4) == [
        at(2030, 1, 2), at(2030, 1, 3), at(2030, 1, 4), at(2030, 1, 7)]
    assert upcoming("0 0 0 1 Mar *", 1) == [at(2030, 3, 1)]
    assert upcoming("10/20 0 13 * * *", 3) == [
        at(2030, 1, 1, 13, 0, 10), at(2030, 1, 1, 13, 0, 30), at(2030, 1, 1, 13, 0, 50)]


def test_day_of_month_and_day_of_week_must_both_match() -> None:
    """NCrontab requires both (Vixie cron would take either): Friday the 13th."""
    assert upcoming("0 0 0 13 * 5", 2) == [at(2030, 9, 13), at(2030, 12, 13)]


def test_sunday_is_zero() -> None:
    """Days of the week run 0 (Sunday) to 6; 7 is refused."""
    assert upcoming("0 0 0 * * 0", 1) == [at(2030, 1, 6)]
    with pytest.raises(ScheduleError, match="outside 0-6"):
        CronSchedule.parse("0 0 0 * * 7")


@pytest.mark.parametrize("expression", [
    "* * * *", "60 * * * * *", "* * * 0 * *", "* * * * 13 *", "*/0 * * * * *",
    "5-1 * * * * *", "a * * * * *", "1,,2 * * * * *"])
def test_bad_cron_fields_are_refused(expression: str) -> None:
    """Every malformed field is a ScheduleError (and no TimeSpan either)."""
    with pytest.raises(ScheduleError):
        parse_schedule(expression)


def test_a_schedule_without_an_occurrence_never_fires() -> None:
    """February 30th has no occurrence: NCrontab answers its end date."""
    assert parse_schedule("0 0 0 30 2 *").next_after(T0) == NEVER_FIRES


@pytest.mark.parametrize(("expression", "interval"), [
    ("00:00:30", timedelta(seconds=30)),
    ("01:30:00", timedelta(minutes=90)),
    ("1.02:00:00", timedelta(days=1, hours=2)),
    ("24:00:00", timedelta(days=24)),  # dd:hh:mm once the first number is 24 or more
    ("00:00:00.5", timedelta(milliseconds=500)),
])
def test_timespans(expression: str, interval: timedelta) -> None:
    """TimeSpan schedules fire a fixed interval after the last occurrence."""
    schedule = parse_schedule(expression)
    assert isinstance(schedule, IntervalSchedule)
    assert schedule.next_after(T0) == T0 + interval


@pytest.mark.parametrize("expression", ["00:00:00", "00:61:00", "1:2:3:4"])
def test_bad_timespans_are_refused(expression: str) -> None:
    """Zero or out-of-range TimeSpans are neither schedule."""
    with pytest.raises(ScheduleError):
        parse_schedule(expression)


def test_the_monitor_is_on_for_schedules_a_minute_apart() -> None:
    """Azure monitors a schedule by default only when runs are at least a minute apart."""
    assert monitor_default(parse_schedule("0 * * * * *"), T0)
    assert not monitor_default(parse_schedule("*/30 * * * * *"), T0)
    assert monitor_default(parse_schedule("00:05:00"), T0)


def test_past_due_follows_the_schedule_monitor() -> None:
    """``CheckPastDueAsync``: a first start writes Next; a Next in the past is past due; a
    status from another schedule is reset and not past due."""
    hourly = parse_schedule("0 0 * * * *")
    status, write, due = past_due_status(hourly, T0, None)
    assert (status, write, due) == (ScheduleStatus(NEVER, at(2030, 1, 1, 13), T0), True, False)
    ran = ScheduleStatus(at(2030, 1, 1, 13), at(2030, 1, 1, 14), at(2030, 1, 1, 13))
    assert past_due_status(hourly, at(2030, 1, 1, 13, 30), ran) == (ran, False, False)
    assert past_due_status(hourly, at(2030, 1, 1, 16, 5), ran) == (ran, False, True)
    daily = parse_schedule("0 0 0 * * *")
    reset, write, due = past_due_status(daily, at(2030, 1, 3, 5), ran)
    assert (reset, write, due) == (ScheduleStatus(NEVER, at(2030, 1, 4), at(2030, 1, 3, 5)),
                                   True, False)


def test_queues_options_defaults_and_bounds(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``extensions.queues``: Azure's defaults, TimeSpans, and values out of bounds refused."""
    defaults = load_queues_options(tmp_path, lambda name: None)
    assert (defaults.batch_size, defaults.max_dequeue_count, defaults.visibility_timeout,
            defaults.max_polling_interval, defaults.message_encoding) == (
        16, 5, 0.0, 60.0, "base64")
    host = tmp_path / "host.json"
    host.write_text('{"extensions": {"queues": {"batchSize": 4, "messageEncoding": "None", '
                    '"visibilityTimeout": "00:00:30", "maxPollingInterval": "00:00:02"}}}')
    read = load_queues_options(tmp_path, lambda name: None)
    assert (read.batch_size, read.message_encoding, read.visibility_timeout,
            read.max_polling_interval) == (4, "none", 30.0, 2.0)
    override = load_queues_options(
        tmp_path, {"AzureFunctionsJobHost__extensions__queues__batchSize": "2"}.get)
    assert override.batch_size == 2
    for bad in ('{"batchSize": 33}', '{"maxDequeueCount": 0}', '{"messageEncoding": "utf8"}',
                '{"maxPollingInterval": "00:00:00.05"}', '{"visibilityTimeout": 30}'):
        host.write_text(f'{{"extensions": {{"queues": {bad}}}}}')
        with pytest.raises(AppLoadError, match=r"extensions\.queues"):
            load_queues_options(tmp_path, lambda name: None)
    assert QueuesOptions().max_in_flight > QueuesOptions().batch_size
    assert parse_timespan("1.00:00:01.5") == 86401.5
