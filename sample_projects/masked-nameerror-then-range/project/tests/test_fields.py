import pytest

from cronparse import parse


def test_every_minute():
    s = parse("* * * * *")
    assert s.minute == frozenset(range(60))
    assert s.weekday == frozenset(range(7))


def test_fixed_time():
    s = parse("30 4 1 * *")
    assert (s.minute, s.hour, s.day) == ({30}, {4}, {1})


def test_steps():
    assert parse("*/15 * * * *").minute == {0, 15, 30, 45}
    assert parse("0 9-17/4 * * *").hour == {9, 13, 17}


def test_ranges_include_both_ends():
    assert parse("0 0 * * 1-5").weekday == {1, 2, 3, 4, 5}


def test_lists():
    assert parse("0,30 8,20 * * *").hour == {8, 20}


@pytest.mark.parametrize("bad", ["* * * *", "60 * * * *", "* * 0 * *", "5-1 * * * *", "*/0 * * * *", "a * * * *"])
def test_invalid(bad):
    with pytest.raises(ValueError):
        parse(bad)
