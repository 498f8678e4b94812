from decimal import Decimal

import pytest

from pricing import tier_discount


@pytest.mark.parametrize(
    ("subtotal", "rate"),
    [("0", "0"), ("199.99", "0"), ("200", "0.05"), ("499.99", "0.05"), ("500", "0.10"), ("2000", "0.10")],
)
def test_tiers(subtotal, rate):
    assert tier_discount(Decimal(subtotal)) == Decimal(rate)


def test_negative_subtotal_is_rejected():
    with pytest.raises(ValueError):
        tier_discount(Decimal("-1"))
