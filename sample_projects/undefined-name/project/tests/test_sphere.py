import pytest

from geo import Point, bearing, distance_km, within_radius

LONDON = Point(51.5074, -0.1278)
PARIS = Point(48.8566, 2.3522)
NORTH_POLE = Point(90, 0)


def test_distance_london_paris():
    assert distance_km(LONDON, PARIS) == pytest.approx(343.5, abs=1.0)


def test_distance_to_self_is_zero():
    assert distance_km(PARIS, PARIS) == 0


def test_bearing_due_north():
    assert bearing(Point(0, 0), NORTH_POLE) == pytest.approx(0)


def test_bearing_due_east_on_equator():
    assert bearing(Point(0, 0), Point(0, 10)) == pytest.approx(90)


def test_bearing_london_paris():
    assert bearing(LONDON, PARIS) == pytest.approx(148.1, abs=0.2)


def test_within_radius_nearest_first():
    near, far = Point(51.6, -0.1), Point(51.5, -0.2)
    assert within_radius(LONDON, 15, [near, PARIS, far]) == [far, near]


def test_rejects_bad_latitude():
    with pytest.raises(ValueError, match="latitude"):
        Point(91, 0)
