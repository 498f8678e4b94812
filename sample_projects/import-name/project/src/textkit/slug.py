"""URL slugs and whitespace clean-up."""

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")


def normalize_whitespace(text: str) -> str:
    """Collapse runs of whitespace (tabs, newlines, NBSP) into single spaces."""
    return _SPACES.sub(" ", text).strip()


def slugify(text: str, max_length: int = 60) -> str:
    """Turn a title into a lowercase ASCII slug, cut at a word boundary."""
    # NFKD splits accented letters into letter + mark, so "é" survives as "e".
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _NON_WORD.sub("-", ascii_text.lower()).strip("-")
    if len(slug) <= max_length:
        return slug
    cut = slug[:max_length]
    if "-" in cut:
        cut = cut.rsplit("-", 1)[0]
    return cut
