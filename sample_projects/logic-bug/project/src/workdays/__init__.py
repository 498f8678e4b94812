"""Business-day arithmetic: counting and adding working days around holidays."""

from .calendar import HolidayCalendar
from .days import add_business_days, business_days_between

__all__ = ["HolidayCalendar", "add_business_days", "business_days_between"]
