"""Timer schedules as the Functions timer trigger reads them: NCRONTAB or a TimeSpan.

An NCRONTAB expression has six fields, seconds first (``{second} {minute} {hour} {day}
{month} {day-of-week}``); five fields (no seconds) are read as NCrontab does, with the
seconds at 0. Each field takes ``*``, numbers, ranges ``a-b``, steps ``*/n``, ``a-b/n`` and
``a/n`` (from ``a`` to the field's end), and comma lists of these; months and days of the
week also take their English three-letter names (``Jan``, ``Mon``). Days of the week run 0
(Sunday) to 6. As in NCrontab, an occurrence must match the day of the month *and* the day
of the week. Any other text is tried as a TimeSpan (``hh:mm:ss``, ``d.hh:mm:ss``, or
``dd:hh:mm`` when the first number is 24 or more), which fires that long after the last
occurrence. Times are UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = ["NEVER_FIRES", "CronSchedule", "IntervalSchedule", "Schedule", "ScheduleError",
           "parse_schedule"]

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# How far ahead an occurrence is looked for before a schedule counts as never firing
# (``0 0 0 30 2 *``: February 30th). NCrontab then answers its end date, and the timer
# extension waits for it: such a timer is accepted and never fires.
_SEARCH_YEARS = 8
NEVER_FIRES = datetime.max.replace(tzinfo=timezone.utc)
_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d+):(\d+)(?::(\d+)(?:\.(\d{1,7}))?)?")


class ScheduleError(ValueError):
    """A schedule expression that is neither NCRONTAB nor a TimeSpan."""


@dataclass(frozen=True)
class _Field:
    """One NCRONTAB field: its name, range and (for months and days) its names."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0

    def value(self, text: str) -> int:
        """A number or a name of this field."""
        lowered = text.lower()
        if self.names and lowered in self.names:
            return self.names.index(lowered) + self.name_base
        if not text.isdigit():
            raise ScheduleError(f"{self.name} {text!r} is not a number")
        number = int(text)
        if not self.low <= number <= self.high:
            raise ScheduleError(f"{self.name} {number} is outside {self.low}-{self.high}")
        return number

    def parse(self, text: str) -> frozenset[int]:
        """The values a field's text allows."""
        values: set[int] = set()
        for part in text.split(","):
            if not part:
                raise ScheduleError(f"{self.name} field {text!r} has an empty list item")
            span, slash, step_text = part.partition("/")
            step = 1
            if slash:
                if not step_text.isdigit() or int(step_text) < 1:
                    raise ScheduleError(f"{self.name} step {step_text!r} must be a positive "
                                        "number")
                step = int(step_text)
            if span == "*":
                first, last = self.low, self.high
            elif "-" in span:
                start, _, end = span.partition("-")
                first, last = self.value(start), self.value(end)
                if first > last:
                    raise ScheduleError(f"{self.name} range {span!r} runs backwards")
            else:
                first = self.value(span)
                last = self.high if slash else first
            values.update(range(first, last + 1, step))
        return frozenset(values)


_SECOND = _Field("second", 0, 59)
_MINUTE = _Field("minute", 0, 59)
_HOUR = _Field("hour", 0, 23)
_DAY = _Field("day", 1, 31)
_MONTH = _Field("month", 1, 12, _MONTHS, 1)
_WEEKDAY = _Field("day-of-week", 0, 6, _DAYS, 0)


class Schedule:
    """When a timer fires: ``next_after(moment)`` is the first occurrence after it."""

    expression: str

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after ``moment`` (UTC)."""
        raise NotImplementedError


@dataclass(frozen=True)
class CronSchedule(Schedule):
    """An NCRONTAB schedule (seconds first)."""

    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        """Read five or six fields; ``ScheduleError`` names the field that is wrong."""
        fields = expression.split()
        if len(fields) == 5:
            fields = ["0", *fields]
        if len(fields) != 6:
            raise ScheduleError(f"an NCRONTAB expression has 6 fields (seconds first), "
                                f"not {len(fields)}")
        parsers = (_SECOND, _MINUTE, _HOUR, _DAY, _MONTH, _WEEKDAY)
        sets = [parser.parse(text) for parser, text in zip(parsers, fields, strict=True)]
        return cls(expression, *sets)

    def _day_matches(self, moment: datetime) -> bool:
        # Python counts Monday as 0; NCRONTAB counts Sunday as 0.
        return (moment.day in self.days and moment.month in self.months
                and (moment.weekday() + 1) % 7 in self.weekdays)

    def next_after(self, moment: datetime) -> datetime:
        """The first matching second after ``moment``; ``NEVER_FIRES`` if none comes."""
        start = moment.astimezone(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
        day = start.replace(hour=0, minute=0, second=0)
        limit = day + timedelta(days=366 * _SEARCH_YEARS)
        while day < limit:
            if self._day_matches(day):
                found = self._first_time_on(day, start if day.date() == start.date() else day)
                if found is not None:
                    return found
            day += timedelta(days=1)
        return NEVER_FIRES

    def _first_time_on(self, day: datetime, earliest: datetime) -> datetime | None:
        """The first matching time on ``day`` at or after ``earliest``."""
        for hour in sorted(h for h in self.hours if h >= earliest.hour or day < earliest):
            for minute in sorted(self.minutes):
                for second in sorted(self.seconds):
                    candidate = day.replace(hour=hour, minute=minute, second=second)
                    if candidate >= earliest:
                        return candidate
        return None


@dataclass(frozen=True)
class IntervalSchedule(Schedule):
    """A TimeSpan schedule: a fixed interval after the last occurrence."""

    expression: str
    interval: timedelta

    @classmethod
    def parse(cls, expression: str) -> IntervalSchedule:
        """Read ``hh:mm:ss``, ``d.hh:mm:ss`` or ``dd:hh:mm``; ``ScheduleError`` otherwise."""
        found = _TIMESPAN.fullmatch(expression.strip())
        if found is None:
            raise ScheduleError(f"{expression!r} is no TimeSpan")
        days_text, first, second, third, fraction = found.groups()
        days = int(days_text or 0)
        a, b = int(first), int(second)
        c = int(third) if third is not None else 0
        if days_text is None and third is not None and a >= 24:
            days, hours, minutes, seconds = a, b, c, 0  # dd:hh:mm
        else:
            hours, minutes, seconds = a, b, c
        if hours > 23 or minutes > 59 or seconds > 59:
            raise ScheduleError(f"TimeSpan {expression!r} is out of range")
        micros = int((fraction or "0").ljust(7, "0")) // 10
        interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds,
                             microseconds=micros)
        if interval <= timedelta(0):
            raise ScheduleError(f"TimeSpan schedule {expression!r} must be longer than zero")
        return cls(expression, interval)

    def next_after(self, moment: datetime) -> datetime:
        """``moment`` plus the interval."""
        if moment >= NEVER_FIRES - self.interval:
            return NEVER_FIRES
        return moment + self.interval


def parse_schedule(expression: str) -> Schedule:
    """An NCRONTAB schedule, else a TimeSpan one, as the timer trigger tries them.

    ``ScheduleError`` says why neither reading works.
    """
    try:
        return CronSchedule.parse(expression)
    except ScheduleError as cron_error:
        try:
            return IntervalSchedule.parse(expression)
        except ScheduleError:
            raise ScheduleError(
                f"the schedule expression {expression!r} was not recognized as a valid cron "
                f"expression or timespan string ({cron_error})") from None
