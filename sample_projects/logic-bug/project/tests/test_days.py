from datetime import date

from workdays import HolidayCalendar, add_business_days, business_days_between

MON = date(2026, 11, 16)
FRI = date(2026, 11, 20)
NEXT_MON = date(2026, 11, 23)


def test_one_working_week():
    assert business_days_between(MON, NEXT_MON) == 5


def test_range_is_half_open():
    assert business_days_between(MON, FRI) == 4


def test_reversed_range_is_negative():
    assert business_days_between(NEXT_MON, MON) == -5


def test_holiday_is_skipped():
    cal = HolidayCalendar.from_iso(["2026-11-18"])
    assert business_days_between(MON, NEXT_MON, cal) == 4


def test_add_over_weekend():
    assert add_business_days(FRI, 1) == NEXT_MON


def test_add_backwards():
    assert add_business_days(NEXT_MON, -1) == FRI


def test_add_zero_is_identity():
    assert add_business_days(MON, 0) == MON
