from datetime import date

from workdays import HolidayCalendar


def test_membership():
    cal = HolidayCalendar.from_iso(["2026-12-25", "2026-12-26"])
    assert date(2026, 12, 25) in cal
    assert date(2026, 12, 24) not in cal
    assert len(cal) == 2
