import pytest

from shop.checkout import Item, order_total


def test_small_domestic_order_pays_shipping():
    items = [Item("mug", 1200, 0.4, 2)]
    assert order_total(items, "domestic") == {"subtotal": 2400, "shipping": 615, "total": 3015}


def test_free_domestic_shipping_from_fifty():
    items = [Item("kettle", 4500, 1.5), Item("tea", 600, 0.2)]
    assert order_total(items, "domestic")["shipping"] == 0


def test_eu_order_always_pays_shipping():
    items = [Item("kettle", 4500, 1.5), Item("tea", 600, 0.2)]
    assert order_total(items, "eu") == {"subtotal": 5100, "shipping": 1850, "total": 6950}


def test_empty_order_is_rejected():
    with pytest.raises(ValueError):
        order_total([], "eu")
