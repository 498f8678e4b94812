"""Slicing sequences into 1-based pages.

Pages are 1-based because they appear in URLs (?page=1) that people type.
Asking for a page past the end is not an error: the API answers with an
empty page so that clients can stop on `has_next` alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    per_page: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.number < page_count(self.total, self.per_page)

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def paginate(items: Sequence[T], page: int = 1, per_page: int = 20) -> Page[T]:
    if page < 1:
        raise ValueError(f"page numbers start at 1, got {page}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}")
    start = (page - 1) * per_page
    return Page(list(items[start : start + per_page]), page, per_page, len(items))
