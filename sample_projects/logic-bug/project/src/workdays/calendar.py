"""Holiday calendars."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date


class HolidayCalendar:
    """A set of non-working dates; weekends are handled by the caller."""

    def __init__(self, holidays: Iterable[date] = ()) -> None:
        self._holidays = frozenset(holidays)

    @classmethod
    def from_iso(cls, days: Iterable[str]) -> HolidayCalendar:
        return cls(date.fromisoformat(day) for day in days)

    def __contains__(self, day: object) -> bool:
        return day in self._holidays

    def __len__(self) -> int:
        return len(self._holidays)
