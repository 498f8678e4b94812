import pytest

from envcfg import parse_dotenv


def test_plain_and_exported_keys():
    assert parse_dotenv("A=1\nexport B=two\n") == {"A": "1", "B": "two"}


def test_quotes_and_comments():
    text = "# c\nA='x # not a comment'\nB=\"line\\nbreak\"\nC=plain # comment\n"
    assert parse_dotenv(text) == {"A": "x # not a comment", "B": "line\nbreak", "C": "plain"}


def test_bad_line_names_the_line():
    with pytest.raises(ValueError, match="line 2"):
        parse_dotenv("A=1\nnot a setting\n")
