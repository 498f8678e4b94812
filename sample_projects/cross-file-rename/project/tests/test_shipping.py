import pytest

from shop.shipping import compute_shipping


def test_domestic_rounds_up_started_kilos():
    assert compute_shipping(1.2, "domestic") == 495 + 2 * 120


def test_world_rate():
    assert compute_shipping(3, "world") == 2400 + 3 * 650


def test_unknown_zone():
    with pytest.raises(ValueError, match="unknown zone 'moon'"):
        compute_shipping(1, "moon")


def test_weight_must_be_positive():
    with pytest.raises(ValueError):
        compute_shipping(0, "eu")
