import pytest

from ledger.money import format_money, split_evenly, to_cents


@pytest.mark.parametrize(("text", "cents"), [("12.5", 1250), ("0.005", 1), ("1,234.56", 123456), ("-3", -300)])
def test_to_cents(text, cents):
    assert to_cents(text) == cents


def test_format_money():
    assert format_money(123456) == "1,234.56 EUR"
    assert format_money(-5, "USD") == "-0.05 USD"


def test_split_keeps_every_cent():
    assert split_evenly(1000, 3) == [334, 333, 333]
    assert sum(split_evenly(1001, 7)) == 1001


def test_split_needs_people():
    with pytest.raises(ValueError):
        split_evenly(100, 0)
