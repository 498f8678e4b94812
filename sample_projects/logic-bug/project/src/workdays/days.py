"""Counting and stepping over business days (Monday to Friday, minus holidays)."""

from __future__ import annotations

from datetime import date, timedelta

from .calendar import HolidayCalendar

_NO_HOLIDAYS = HolidayCalendar()


def business_days_between(
    start: date, end: date, holidays: HolidayCalendar = _NO_HOLIDAYS
) -> int:
    """Count business days in the half-open range [start, end).

    Half-open so that consecutive ranges can be added up without counting the
    shared day twice. A reversed range counts negatively.
    """
    if end < start:
        return -business_days_between(end, start, holidays)
    count = 0
    day = start
    while day < end:
        if day.weekday() < 5 and day not in holidays:
            count += 1
        day += timedelta(days=1)
    return count


def add_business_days(
    start: date, days: int, holidays: HolidayCalendar = _NO_HOLIDAYS
) -> date:
    """Step `days` business days from `start` (backwards when negative)."""
    step = timedelta(days=1 if days >= 0 else -1)
    remaining = abs(days)
    day = start
    while remaining:
        day += step
        if day.weekday() < 5 and day not in holidays:
            remaining -= 1
    return day
