"""Business-time arithmetic: worked examples (reasoning in the comments) and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpline.sla.businesstime import (
    BusinessCalendar,
    CalendarError,
    NoWorkingTime,
    Timeline,
    add_business_minutes,
    business_seconds_between,
)

BERLIN = ZoneInfo("Europe/Berlin")
MOSCOW = ZoneInfo("Europe/Moscow")
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
H = timedelta(hours=1)


def office(tz: str, start: str = "09:00", end: str = "17:00", **extra: object) -> BusinessCalendar:
    return BusinessCalendar.from_spec(
        {"tz": tz, "hours": {day: [[start, end]] for day in WEEKDAYS}, **extra}
    )


BERLIN_OFFICE = office("Europe/Berlin", holidays=["12-25", "12-26", "2026-05-01"])


def at(tz: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=tz)  # type: ignore[misc,arg-type]


# --- worked examples ---------------------------------------------------------------------


def test_over_night():
    # Tue 10 Mar 2026 16:00, Berlin office 09-17: one hour left on Tuesday (16-17), the
    # second hour is Wednesday 09-10.
    assert BERLIN_OFFICE.add(at(BERLIN, 2026, 3, 10, 16), 2 * H) == at(BERLIN, 2026, 3, 11, 10)
    assert BERLIN_OFFICE.between(at(BERLIN, 2026, 3, 10, 16), at(BERLIN, 2026, 3, 11, 10)) == 2 * H


def test_over_weekend_and_spring_dst():
    # Fri 27 Mar 2026 16:00 CET: one hour on Friday; Saturday and Sunday are closed (and the
    # clocks go forward on Sunday 29 March); the second hour is Monday 09-10, now CEST.
    due = BERLIN_OFFICE.add(at(BERLIN, 2026, 3, 27, 16), 2 * H)
    assert due == at(BERLIN, 2026, 3, 30, 10)
    # 16:00 CET is 15:00 UTC, Monday 10:00 CEST is 08:00 UTC: the offset changed in between.
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 8, tzinfo=UTC)


def test_off_hours_start_counts_from_next_opening():
    # Saturday noon: nothing counts until Monday 09:00; one hour later is 10:00.
    assert BERLIN_OFFICE.add(at(BERLIN, 2026, 3, 14, 12), H) == at(BERLIN, 2026, 3, 16, 10)
    # Reaching the amount exactly at closing time gives closing time, not the next morning.
    assert BERLIN_OFFICE.add(at(BERLIN, 2026, 3, 16, 9), 8 * H) == at(BERLIN, 2026, 3, 16, 17)
    assert BERLIN_OFFICE.add(at(BERLIN, 2026, 3, 14, 12), timedelta(0)) == at(
        BERLIN, 2026, 3, 14, 12
    )


def test_yearly_holidays():
    # Wed 24 Dec 2025 16:00: one hour on the 24th; the 25th and 26th (Thu, Fri) are yearly
    # holidays, 27-28 is a weekend, so the second hour is Mon 29 Dec 09-10.
    assert BERLIN_OFFICE.add(at(BERLIN, 2025, 12, 24, 16), 2 * H) == at(BERLIN, 2025, 12, 29, 10)
    # The same rule next year: Thu 24 Dec 2026 16:00; Fri 25 holiday, Sat 26 holiday and
    # weekend, Sun 27 weekend; Mon 28 Dec 10:00.
    assert BERLIN_OFFICE.add(at(BERLIN, 2026, 12, 24, 16), 2 * H) == at(BERLIN, 2026, 12, 28, 10)
    # A one-off date: Fri 1 May 2026 is closed; Thu 30 Apr 16:00 + 2h -> Mon 4 May 10:00.
    assert BERLIN_OFFICE.add(at(BERLIN, 2026, 4, 30, 16), 2 * H) == at(BERLIN, 2026, 5, 4, 10)


def test_shanghai_golden_week_range_and_working_saturday():
    # Asia/Shanghai (UTC+8, no DST), 09-18 on weekdays; National Day week 1-7 Oct 2026 is a
    # holiday range and Saturday 10 Oct is an adjusted working day (an exception).
    calendar = office(
        "Asia/Shanghai",
        "09:00",
        "18:00",
        holidays=["2026-10-01..2026-10-07"],
        exceptions=[{"start": "2026-10-10T09:00", "end": "2026-10-10T18:00", "working": True}],
    )
    # Wed 30 Sep 17:00 + 2h: 17-18 on the 30th, then nothing until Thu 8 Oct 09-10.
    assert calendar.add(at(SHANGHAI, 2026, 9, 30, 17), 2 * H) == at(SHANGHAI, 2026, 10, 8, 10)
    # Fri 9 Oct 17:00 + 3h: 17-18 on Friday, then Saturday (working exception) 09-11.
    due = calendar.add(at(SHANGHAI, 2026, 10, 9, 17), 3 * H)
    assert due == at(SHANGHAI, 2026, 10, 10, 11)
    assert due.astimezone(UTC) == datetime(2026, 10, 10, 3, tzinfo=UTC)
    # The whole National Day week counts nothing, in either direction of measuring.
    assert calendar.between(at(SHANGHAI, 2026, 10, 1), at(SHANGHAI, 2026, 10, 8)) == timedelta(0)


def test_moscow_has_no_dst():
    # Europe/Moscow is UTC+3 all year. Fri 23 Oct 2026 17:00 + 3h with 09-18 hours: 17-18 on
    # Friday, Monday 26 Oct 09-11. Berlin changes clocks that Sunday (25 Oct); Moscow does not,
    # so Monday 11:00 MSK is 08:00 UTC exactly as it would be in summer.
    calendar = office("Europe/Moscow", "09:00", "18:00")
    due = calendar.add(at(MOSCOW, 2026, 10, 23, 17), 3 * H)
    assert due == at(MOSCOW, 2026, 10, 26, 11)
    assert due.astimezone(UTC) == datetime(2026, 10, 26, 8, tzinfo=UTC)
    # A full week measures 5 x 9 = 45 hours, whatever the season.
    for month in (1, 7):
        start = at(MOSCOW, 2026, month, 5)  # a Monday in both months
        assert calendar.between(start, start + timedelta(days=7)) == 45 * H


def test_berlin_dst_days_are_23_and_25_hours_long():
    # Open around the clock on Sundays: the spring Sunday (29 Mar 2026) has 23 real hours,
    # the autumn Sunday (25 Oct 2026) 25.
    calendar = BusinessCalendar(tz="Europe/Berlin", hours={"sun": [["00:00", "24:00"]]})
    assert calendar.between(at(BERLIN, 2026, 3, 29), at(BERLIN, 2026, 3, 30)) == 23 * H
    assert calendar.between(at(BERLIN, 2026, 10, 25), at(BERLIN, 2026, 10, 26)) == 25 * H
    # 02:00-04:00 on the spring day: 02:00-03:00 does not exist, one real hour is left.
    gap = BusinessCalendar(tz="Europe/Berlin", hours={"sun": [["02:00", "04:00"]]})
    assert gap.between(at(BERLIN, 2026, 3, 29), at(BERLIN, 2026, 3, 30)) == H
    assert gap.between(at(BERLIN, 2026, 3, 22), at(BERLIN, 2026, 3, 23)) == 2 * H


def test_night_shift_across_midnight_and_dst():
    # A Saturday night shift 22:00-06:00, Berlin. On 28/29 Mar 2026 the clocks skip 02:00-03:00:
    # 22:00 CET (21:00 UTC) to 06:00 CEST (04:00 UTC) is 7 real hours, not 8.
    calendar = BusinessCalendar(tz="Europe/Berlin", hours={"sat": [["22:00", "06:00"]]})
    start = at(BERLIN, 2026, 3, 28, 22)
    assert calendar.add(start, 7 * H) == at(BERLIN, 2026, 3, 29, 6)
    # On 24/25 Oct 2026 the clocks go back: 22:00 CEST (20:00 UTC) to 06:00 CET (05:00 UTC)
    # is 9 real hours.
    autumn = at(BERLIN, 2026, 10, 24, 22)
    assert calendar.between(autumn, at(BERLIN, 2026, 10, 25, 12)) == 9 * H


def test_night_desk_across_midnight_with_weekend_and_holiday():
    # Moscow night desk, Mon-Fri 22:00-06:00 (each shift ends the next morning).
    calendar = BusinessCalendar(
        tz="Europe/Moscow",
        hours={day: [["22:00", "06:00"]] for day in WEEKDAYS},
        holidays=["2026-03-21"],
    )
    # Mon 9 Mar 23:00 + 4h = Tue 03:00, inside Monday's shift.
    assert calendar.add(at(MOSCOW, 2026, 3, 9, 23), 4 * H) == at(MOSCOW, 2026, 3, 10, 3)
    # Fri 13 Mar 23:00 + 8h: Friday's shift runs until Sat 06:00 (7h); Saturday and Sunday
    # start no shift; the last hour is Mon 16 Mar 22:00-23:00.
    assert calendar.add(at(MOSCOW, 2026, 3, 13, 23), 8 * H) == at(MOSCOW, 2026, 3, 16, 23)
    # Saturday 21 Mar is a holiday: Friday 20 Mar's shift stops at midnight (2h, not 8h).
    friday = at(MOSCOW, 2026, 3, 20, 22)
    assert calendar.between(friday, at(MOSCOW, 2026, 3, 21, 12)) == 2 * H


def test_several_intervals_and_closed_exception():
    # Lunch break 12:00-13:00 every weekday, plus a one-off closed afternoon meeting.
    calendar = BusinessCalendar(
        tz="Europe/Berlin",
        hours={day: [["09:00", "12:00"], ["13:00", "17:00"]] for day in WEEKDAYS},
        exceptions=[{"start": "2026-03-11T14:00", "end": "2026-03-11T16:00", "working": False}],
    )
    # Tue 10 Mar 09:00 + 5h: 09-12 (3h), lunch, 13-15 (2h) -> 15:00.
    assert calendar.add(at(BERLIN, 2026, 3, 10, 9), 5 * H) == at(BERLIN, 2026, 3, 10, 15)
    # Wed 11 Mar 09:00 + 5h: 09-12 (3h), 13-14 (1h), closed 14-16, 16-17 (1h) -> 17:00.
    assert calendar.add(at(BERLIN, 2026, 3, 11, 9), 5 * H) == at(BERLIN, 2026, 3, 11, 17)
    assert add_business_minutes(calendar, at(BERLIN, 2026, 3, 10, 11, 30), 45) == at(
        BERLIN, 2026, 3, 10, 13, 15
    )
    assert (
        business_seconds_between(calendar, at(BERLIN, 2026, 3, 10, 11), at(BERLIN, 2026, 3, 10, 14))
        == 2 * 3600
    )


def test_result_keeps_the_callers_time_zone_and_needs_aware_input():
    due = BERLIN_OFFICE.add(datetime(2026, 3, 10, 8, tzinfo=UTC), H)  # 09:00 CET
    assert due.tzinfo is UTC and due == datetime(2026, 3, 10, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        BERLIN_OFFICE.add(datetime(2026, 3, 10, 8), H)


def test_calendars_without_working_time_are_refused():
    with pytest.raises(NoWorkingTime):
        BusinessCalendar(tz="UTC", hours={})
    closed_all_year = BusinessCalendar(
        tz="UTC", hours={"mon": [["09:00", "17:00"]]}, holidays=["01-01..12-31"]
    )
    with pytest.raises(NoWorkingTime):
        closed_all_year.add(datetime(2026, 1, 1, tzinfo=UTC), H)


MONDAY = {"mon": [["09:00", "17:00"]]}


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"tz": "Mars/Olympus", "hours": {"mon": [["09:00", "17:00"]]}}, "tz"),
        ({"tz": "UTC", "hours": {"monday": [["09:00", "17:00"]]}}, "hours"),
        ({"tz": "UTC", "hours": {"mon": [["9", "17:00"]]}}, "hours.mon.0"),
        ({"tz": "UTC", "hours": {"mon": [["09:00", "09:00"]]}}, "hours.mon.0"),
        ({"tz": "UTC", "hours": {"mon": [["24:00", "09:00"]]}}, "hours.mon.0"),
        ({"tz": "UTC", "hours": MONDAY, "holidays": ["02-30"]}, "holidays.0"),
        ({"tz": "UTC", "hours": MONDAY, "holidays": ["2026-02-03..2026-01-01"]}, "holidays.0"),
        (
            {
                "tz": "UTC",
                "hours": MONDAY,
                "exceptions": [{"start": "2026-01-02T10:00+01:00", "end": "2026-01-02T11:00"}],
            },
            "exceptions.0",
        ),
    ],
)
def test_invalid_definitions_name_the_field(spec, field):
    with pytest.raises(CalendarError) as raised:
        BusinessCalendar.from_spec(spec)
    assert raised.value.field == field


# --- properties --------------------------------------------------------------------------

CALENDARS = [
    BERLIN_OFFICE,
    office("Asia/Shanghai", "09:00", "18:00", holidays=["2026-10-01..2026-10-07"]),
    BusinessCalendar(
        tz="Europe/Moscow",
        hours={day: [["22:00", "06:00"]] for day in WEEKDAYS},
        exceptions=[{"start": "2026-03-14T10:00", "end": "2026-03-14T12:00", "working": True}],
    ),
    BusinessCalendar(
        tz="Europe/Berlin",
        hours={"sat": [["22:00", "06:00"]], "sun": [["01:00", "04:00"], ["12:00", "24:00"]]},
    ),
]

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
amounts = st.integers(min_value=0, max_value=300 * 3600 * 1_000_000).map(
    lambda us: timedelta(microseconds=us)
)
calendars = st.sampled_from(CALENDARS)


@settings(max_examples=150, deadline=None)
@given(calendar=calendars, start=instants, amount=amounts)
def test_add_then_measure_returns_the_amount(calendar, start, amount):
    assert calendar.between(start, calendar.add(start, amount)) == amount


@settings(max_examples=100, deadline=None)
@given(calendar=calendars, start=instants, a=amounts, b=amounts, shift=amounts)
def test_add_is_monotonic(calendar, start, a, b, shift):
    small, large = sorted((a, b))
    assert calendar.add(start, small) <= calendar.add(start, large)
    assert calendar.add(start, small) <= calendar.add(start + shift, small)


@settings(max_examples=100, deadline=None)
@given(calendar=calendars, points=st.lists(instants, min_size=3, max_size=3))
def test_between_is_additive_and_never_exceeds_wall_time(calendar, points):
    a, b, c = sorted(points)
    assert calendar.between(a, b) + calendar.between(b, c) == calendar.between(a, c)
    assert timedelta(0) <= calendar.between(a, c) <= c - a
    assert calendar.between(c, a) == -calendar.between(a, c)


@settings(max_examples=150, deadline=None)
@given(calendar=calendars, start=instants, amount=amounts)
def test_timeline_agrees_with_the_calendar(calendar, start, amount):
    # A window that covers some results and not others: outside it, the calendar answers.
    timeline = Timeline(calendar, date(2025, 6, 1), date(2027, 6, 30))
    assert timeline.add(start, amount) == calendar.add(start, amount)
