from textkit import normalize_whitespace, slugify


def test_slugify_basic():
    assert slugify("Hello, World!") == "hello-world"


def test_slugify_accents():
    assert slugify("Crème brûlée recipes") == "creme-brulee-recipes"


def test_slugify_cuts_at_word_boundary():
    assert slugify("one two three four", max_length=12) == "one-two"


def test_normalize_whitespace():
    assert normalize_whitespace("  a\tb\n\nc\u00a0d ") == "a b c d"
