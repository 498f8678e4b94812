"""Pagination for the API's list endpoints."""

from .pages import Page, page_count, paginate

__all__ = ["Page", "page_count", "paginate"]
