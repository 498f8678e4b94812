"""Small text helpers used by the docs site generator."""

from .slug import normalize_whitespace, slugify
from .wrap import wrap_words

__all__ = ["normalize_whitespace", "slugify", "wrap_words"]
