import pytest

from textkit import wrap_words


def test_wrap_short_text_is_one_line():
    assert wrap_words("short text", width=20) == ["short text"]


def test_wrap_breaks_between_words():
    assert wrap_words("the quick brown fox jumps", width=10) == ["the quick", "brown fox", "jumps"]


def test_long_word_gets_own_line():
    assert wrap_words("see https://example.com/a/very/long/path now", width=12) == [
        "see",
        "https://example.com/a/very/long/path",
        "now",
    ]


def test_width_must_be_positive():
    with pytest.raises(ValueError):
        wrap_words("x", width=0)
