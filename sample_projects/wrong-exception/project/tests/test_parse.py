import pytest

from durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"), [("45s", 45), ("2h", 7200), ("1h30m", 5400), (" 1H5S ", 3605)]
)
def test_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "1h 5m", "5m1h", "1hh"])
def test_malformed_is_value_error(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_unknown_unit_is_value_error():
    with pytest.raises(ValueError, match="unknown unit 'w'"):
        parse_duration("2w")


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (59, "59s"), (5400, "1h30m"), (90061, "25h1m1s")])
def test_format(seconds, text):
    assert format_duration(seconds) == text
