"""Business calendars: working time in a time zone, and arithmetic on it.

A pure module (no ORM). A `BusinessCalendar` has a time zone, weekly working hours (several
intervals per day; an interval whose end is not after its start runs past midnight into the
next day, "24:00" is the end of the day), holidays (dates, inclusive date ranges, and yearly
recurring dates or ranges) and one-off exceptions (extra working time or closed time, given
in local wall-clock time).

Rules, in the order they apply to one local calendar day:

1. The day's working time is the weekday's intervals plus the part of the previous day's
   intervals that runs past midnight, clipped to the day.
2. A holiday closes the whole local day (a night shift that starts the evening before a
   holiday stops at midnight).
3. Exceptions: closed time is removed, then extra working time is added (so an exception can
   open a holiday).

Everything is computed in real elapsed time (UTC microseconds): a working interval 01:00-04:00
on the night clocks go back lasts four hours; 02:00-04:00 on the night they go forward lasts
one. Wall-clock times that do not exist (inside a spring-forward gap) resolve to the instant
after the gap. Costs are O(days spanned): each day is a handful of intervals, cached per
calendar instance.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
_US = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Consecutive days without any working time after which a calendar is declared empty.
MAX_IDLE_DAYS = 800

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")
_YEARLY = re.compile(r"^(\d{2})-(\d{2})$")
_YEARLY_RANGE = re.compile(r"^(\d{2}-\d{2})\s*\.\.\s*(\d{2}-\d{2})$")

Segments = list[tuple[int, int]]


class CalendarError(ValueError):
    """The calendar definition is invalid; `field` says where."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.field = field


class NoWorkingTime(CalendarError):
    """The calendar has no working time in reach, so a deadline can never be reached."""


def _minutes(value: str, field: str, *, allow_24: bool) -> int:
    match = _TIME.match(str(value).strip())
    if not match:
        raise CalendarError(f"{value!r} is not a time (HH:MM)", field=field)
    hours, minutes = int(match.group(1)), int(match.group(2))
    total = hours * 60 + minutes
    if minutes > 59 or total > DAY_MINUTES or (total == DAY_MINUTES and not allow_24):
        raise CalendarError(f"{value!r} is not a time of day", field=field)
    return total


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise CalendarError(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from None


def _month_day(value: str, field: str) -> tuple[int, int]:
    match = _YEARLY.match(value.strip())
    if not match:
        raise CalendarError(f"{value!r} is not a yearly date (MM-DD)", field=field)
    month, day = int(match.group(1)), int(match.group(2))
    try:
        date(2000, month, day)  # a leap year accepts 02-29
    except ValueError:
        raise CalendarError(f"{value!r} is not a day of the year", field=field) from None
    return month, day


def _local_dt(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise CalendarError(
            f"{value!r} is not a date-time (YYYY-MM-DDTHH:MM)", field=field
        ) from None
    if parsed.tzinfo is not None:
        raise CalendarError(
            f"{value!r}: give exceptions in the calendar's local time, without an offset",
            field=field,
        )
    return parsed


def _merge(segments: Iterable[tuple[int, int]]) -> Segments:
    merged: Segments = []
    for start, end in sorted(segments):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _subtract(segments: Segments, holes: Iterable[tuple[int, int]]) -> Segments:
    result = segments
    for hole_start, hole_end in holes:
        cut: Segments = []
        for start, end in result:
            if end <= hole_start or start >= hole_end:
                cut.append((start, end))
                continue
            if start < hole_start:
                cut.append((start, hole_start))
            if end > hole_end:
                cut.append((hole_end, end))
        result = cut
    return result


def _us(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("business-time arithmetic needs aware datetimes")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def _from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True)
class _Yearly:
    start: tuple[int, int]
    end: tuple[int, int]

    def contains(self, day: date) -> bool:
        key = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= key <= self.end
        return key >= self.start or key <= self.end  # wraps over the new year


class BusinessCalendar:
    """Working time of one calendar. Build with `BusinessCalendar.from_spec(...)`.

    `hours` maps "mon".."sun" to a list of ["HH:MM", "HH:MM"] intervals. `holidays` is a list
    of "YYYY-MM-DD", "YYYY-MM-DD..YYYY-MM-DD", "MM-DD" (every year) or "MM-DD..MM-DD".
    `exceptions` is a list of {"start": local date-time, "end": local date-time,
    "working": bool}.
    """

    def __init__(
        self,
        *,
        tz: str,
        hours: Mapping[str, Sequence[Sequence[str]]],
        holidays: Sequence[str] = (),
        exceptions: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        try:
            self.tz = ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(f"unknown time zone {tz!r}", field="tz") from None
        self.tz_name = str(tz)
        self._weekly: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
        unknown = set(hours) - set(WEEKDAYS)
        if unknown:
            raise CalendarError(
                f"unknown weekday(s) {', '.join(sorted(unknown))}; use mon..sun", field="hours"
            )
        for index, name in enumerate(WEEKDAYS):
            for position, interval in enumerate(hours.get(name, ())):
                field = f"hours.{name}.{position}"
                if len(interval) != 2:
                    raise CalendarError("an interval is [start, end]", field=field)
                start = _minutes(interval[0], field, allow_24=False)
                end = _minutes(interval[1], field, allow_24=True)
                if end == start:
                    raise CalendarError("an interval cannot be empty", field=field)
                # end <= start: the interval runs past midnight into the next day.
                self._weekly[index].append((start, end if end > start else end + DAY_MINUTES))
        if not any(self._weekly):
            raise NoWorkingTime("the calendar has no working hours", field="hours")
        self._dates: set[date] = set()
        self._ranges: list[tuple[date, date]] = []
        self._yearly: list[_Yearly] = []
        for position, raw in enumerate(holidays):
            self._add_holiday(str(raw), f"holidays.{position}")
        working: list[tuple[int, int]] = []
        closed: list[tuple[int, int]] = []
        for position, item in enumerate(exceptions):
            field = f"exceptions.{position}"
            if not isinstance(item, Mapping) or "start" not in item or "end" not in item:
                raise CalendarError("an exception is {start, end, working}", field=field)
            start_us = _us(self._aware(_local_dt(item["start"], field)))
            end_us = _us(self._aware(_local_dt(item["end"], field)))
            if end_us <= start_us:
                raise CalendarError("an exception must end after it starts", field=field)
            (working if item.get("working", False) else closed).append((start_us, end_us))
        self._extra = _merge(working)
        self._closed = _merge(closed)
        self._extra_starts = [start for start, _ in self._extra]
        self._closed_starts = [start for start, _ in self._closed]
        self._days: dict[date, Segments] = {}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> BusinessCalendar:
        """Build from a JSON-like dict: {tz, hours, holidays, exceptions}."""
        return cls(
            tz=spec.get("tz", "UTC"),
            hours=spec.get("hours") or {},
            holidays=spec.get("holidays") or (),
            exceptions=spec.get("exceptions") or (),
        )

    # --- definition --------------------------------------------------------------------

    def _add_holiday(self, raw: str, field: str) -> None:
        raw = raw.strip()
        if match := _DATE_RANGE.match(raw):
            first, last = _date(match.group(1), field), _date(match.group(2), field)
            if last < first:
                raise CalendarError("a holiday range must end after it starts", field=field)
            self._ranges.append((first, last))
        elif match := _YEARLY_RANGE.match(raw):
            first_md = _month_day(match.group(1), field)
            self._yearly.append(_Yearly(first_md, _month_day(match.group(2), field)))
        elif _YEARLY.match(raw):
            month_day = _month_day(raw, field)
            self._yearly.append(_Yearly(month_day, month_day))
        else:
            self._dates.add(_date(raw, field))

    def _aware(self, local: datetime) -> datetime:
        """Local wall-clock time -> UTC instant. A time inside a spring-forward gap gets the
        offset from before the change (fold=0), which lands it just after the gap."""
        return local.replace(tzinfo=self.tz).astimezone(UTC)

    def _local_midnight_us(self, day: date) -> int:
        return _us(self._aware(datetime.combine(day, time())))

    def is_holiday(self, day: date) -> bool:
        if day in self._dates:
            return True
        if any(first <= day <= last for first, last in self._ranges):
            return True
        return any(rule.contains(day) for rule in self._yearly)

    # --- one day -------------------------------------------------------------------------

    def day_segments(self, day: date) -> Segments:
        """Working time of one local day as sorted (start, end) UTC microsecond pairs."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        day_start = self._local_midnight_us(day)
        day_end = self._local_midnight_us(day + timedelta(days=1))
        raw: list[tuple[int, int]] = []
        if not self.is_holiday(day):
            previous = day - timedelta(days=1)
            for base, intervals, only_overflow in (
                (previous, self._weekly[previous.weekday()], True),
                (day, self._weekly[day.weekday()], False),
            ):
                for start_min, end_min in intervals:
                    if only_overflow and end_min <= DAY_MINUTES:
                        continue
                    start = self._wall_us(base, start_min)
                    end = self._wall_us(base, end_min)
                    raw.append((max(start, day_start), min(end, day_end)))
        segments = _merge(raw)
        closed = self._overlapping(self._closed, self._closed_starts, day_start, day_end)
        segments = _subtract(segments, closed)
        extra = self._overlapping(self._extra, self._extra_starts, day_start, day_end)
        segments = _merge([*segments, *((max(s, day_start), min(e, day_end)) for s, e in extra)])
        self._days[day] = segments
        return segments

    def _wall_us(self, base: date, minutes: int) -> int:
        day = base + timedelta(days=minutes // DAY_MINUTES)
        rest = minutes % DAY_MINUTES
        return _us(self._aware(datetime.combine(day, time(rest // 60, rest % 60))))

    @staticmethod
    def _overlapping(
        segments: Segments, starts: list[int], lo: int, hi: int
    ) -> Iterator[tuple[int, int]]:
        # segments are merged (disjoint, sorted), so ends are sorted too
        index = max(bisect_right(starts, lo) - 1, 0)
        while index < len(segments) and segments[index][0] < hi:
            start, end = segments[index]
            if end > lo:
                yield start, end
            index += 1

    def _local_date(self, moment_us: int) -> date:
        return _from_us(moment_us).astimezone(self.tz).date()

    # --- arithmetic ----------------------------------------------------------------------

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which `amount` of working time has passed since `start`.

        Zero returns `start`. Off-hours starts count from the next working instant; the result
        is the exact instant the amount is reached (17:00, not the next morning)."""
        if amount < timedelta(0):
            raise ValueError("cannot add a negative business duration")
        remaining = amount // timedelta(microseconds=1)
        cursor = _us(start)
        if remaining == 0:
            return start
        day = self._local_date(cursor)
        idle = 0
        while True:
            segments = self.day_segments(day)
            worked = False
            for seg_start, seg_end in segments:
                if seg_end <= cursor:
                    continue
                worked = True
                begin = max(seg_start, cursor)
                available = seg_end - begin
                if available >= remaining:
                    return _from_us(begin + remaining).astimezone(start.tzinfo)
                remaining -= available
                cursor = seg_end
            idle = 0 if worked or segments else idle + 1
            if idle > MAX_IDLE_DAYS:
                raise NoWorkingTime(
                    f"no working time within {MAX_IDLE_DAYS} days after {start.isoformat()}"
                )
            day += timedelta(days=1)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (negative when `end` is before `start`)."""
        if end < start:
            return -self.between(end, start)
        lo, hi = _us(start), _us(end)
        total = 0
        day = self._local_date(lo)
        last = self._local_date(hi)
        while day <= last:
            for seg_start, seg_end in self.day_segments(day):
                overlap = min(seg_end, hi) - max(seg_start, lo)
                if overlap > 0:
                    total += overlap
            day += timedelta(days=1)
        return timedelta(microseconds=total)

    def is_working(self, moment: datetime) -> bool:
        point = _us(moment)
        return any(s <= point < e for s, e in self.day_segments(self._local_date(point)))


class Timeline:
    """A calendar's working time over a window of days, flattened for bulk arithmetic:
    `add` is two binary searches (O(log segments)) instead of a walk over days. Outside the
    window it falls back to the calendar. Used by bulk recomputes."""

    def __init__(self, calendar: BusinessCalendar, first: date, last: date) -> None:
        self.calendar = calendar
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.before: list[int] = []  # working time before each segment
        self.upto: list[int] = []  # working time up to each segment's end
        total = 0
        day = first
        while day <= last:
            for start, end in calendar.day_segments(day):
                self.starts.append(start)
                self.ends.append(end)
                self.before.append(total)
                total += end - start
                self.upto.append(total)
            day += timedelta(days=1)
        self.lo = calendar._local_midnight_us(first)
        self.hi = calendar._local_midnight_us(last + timedelta(days=1))

    def add_us(self, start: int, amount: int) -> int | None:
        """`start` + `amount` of working time in UTC microseconds; None outside the window."""
        if amount == 0:
            return start
        if start < self.lo:
            return None
        index = bisect_right(self.ends, start)
        if index == len(self.ends):
            return None
        begin = max(self.starts[index], start)
        goal = self.before[index] + (begin - self.starts[index]) + amount
        found = bisect_left(self.upto, goal)
        if found == len(self.upto):
            return None
        return self.starts[found] + (goal - self.before[found])

    def add(self, start: datetime, amount: timedelta) -> datetime:
        result = self.add_us(_us(start), amount // timedelta(microseconds=1))
        if result is None:
            return self.calendar.add(start, amount)
        return _from_us(result).astimezone(start.tzinfo)


def add_business_seconds(calendar: BusinessCalendar, start: datetime, seconds: float) -> datetime:
    return calendar.add(start, timedelta(seconds=seconds))


def add_business_minutes(calendar: BusinessCalendar, start: datetime, minutes: float) -> datetime:
    return calendar.add(start, timedelta(minutes=minutes))


def business_seconds_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> float:
    return calendar.between(start, end).total_seconds()
