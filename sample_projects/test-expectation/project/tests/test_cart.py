from decimal import Decimal

import pytest

from pricing import Cart


def test_empty_cart_totals_zero():
    assert Cart().total() == Decimal("0")


def test_small_cart_pays_vat_only():
    cart = Cart().add("mug", "12.50", 2)
    assert cart.subtotal() == Decimal("25.00")
    assert cart.discount() == Decimal("0.00")
    assert cart.total() == Decimal("30.00")


def test_cart_over_200_gets_five_percent():
    cart = Cart().add("lamp", "120", 2)
    assert cart.discount() == Decimal("12.00")
    assert cart.total() == Decimal("273.60")


def test_float_prices_do_not_drift():
    cart = Cart().add("pen", 0.1, 3)
    assert cart.subtotal() == Decimal("0.3")


def test_quantity_must_be_positive():
    with pytest.raises(ValueError, match="quantity"):
        Cart().add("mug", "12.50", 0)
