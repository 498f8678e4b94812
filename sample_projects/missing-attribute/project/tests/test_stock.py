from decimal import Decimal

import pytest

from inventory import Inventory, OutOfStock


@pytest.fixture
def inv():
    inv = Inventory(reorder_level=3)
    inv.receive("bolt-m6", 100, "0.12")
    inv.receive("nut-m6", 2, "0.05")
    inv.receive("washer", 3, "0.02")
    return inv


def test_receive_adds_up(inv):
    inv.receive("bolt-m6", 20, "0.10")
    assert inv.quantity("bolt-m6") == 120


def test_ship_reduces_stock(inv):
    inv.ship("bolt-m6", 40)
    assert inv.quantity("bolt-m6") == 60


def test_cannot_ship_more_than_on_hand(inv):
    with pytest.raises(OutOfStock) as err:
        inv.ship("nut-m6", 5)
    assert (err.value.wanted, err.value.available) == (5, 2)


def test_unknown_sku_has_zero():
    assert Inventory().quantity("nope") == 0


def test_total_value(inv):
    assert inv.total_value() == Decimal("12.16")


def test_low_stock_most_urgent_first(inv):
    assert inv.low_stock() == ["nut-m6", "washer"]


def test_low_stock_after_shipping(inv):
    inv.ship("bolt-m6", 98)
    assert inv.low_stock() == ["bolt-m6", "nut-m6", "washer"]
