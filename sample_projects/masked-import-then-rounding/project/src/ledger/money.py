"""Money as integer cents.

Splitting a bill must never create or lose a cent: 10.00 split three ways
is 3.34 + 3.33 + 3.33, with the leftover cents going to the first people in
the list (the payer is listed first by convention, so they absorb it).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def to_cents(amount: str) -> int:
    """Parse "12.5" or "12.50" into 1250, rounding half up at the cent."""
    value = Decimal(amount.strip().replace(",", ""))
    return int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def format_money(cents: int, currency: str = "EUR") -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{frac:02d} {currency}"


def split_evenly(cents: int, people: int) -> list[int]:
    """Shares that add up to exactly `cents`, largest first."""
    if people < 1:
        raise ValueError(f"cannot split between {people} people")
    share, leftover = divmod(cents, people)
    return [share + 1 if i < leftover else share for i in range(people)]
