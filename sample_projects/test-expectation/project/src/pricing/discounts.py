"""Volume discounts.

The rate depends only on the subtotal before VAT: the highest threshold the
subtotal reaches wins, so the table must stay sorted from high to low.
"""

from decimal import Decimal

TIERS = [
    (Decimal("500"), Decimal("0.10")),
    (Decimal("200"), Decimal("0.05")),
    (Decimal("0"), Decimal("0")),
]


def tier_discount(subtotal: Decimal) -> Decimal:
    """Return the discount rate for a subtotal (0.10 means ten percent)."""
    if subtotal < 0:
        raise ValueError(f"subtotal cannot be negative: {subtotal}")
    for threshold, rate in TIERS:
        if subtotal >= threshold:
            return rate
    return Decimal("0")
