import pytest

from weather.units import beaufort, c_to_f, f_to_c, kmh_to_mph


def test_freezing_point():
    assert c_to_f(0) == 32
    assert f_to_c(32) == 0


def test_round_trip():
    assert f_to_c(c_to_f(21.5)) == pytest.approx(21.5)


def test_mph():
    assert kmh_to_mph(100) == pytest.approx(62.137, abs=1e-3)


@pytest.mark.parametrize(("kmh", "force"), [(0, 0), (10, 2), (50, 7), (80, 9), (150, 12)])
def test_beaufort(kmh, force):
    assert beaufort(kmh) == force
