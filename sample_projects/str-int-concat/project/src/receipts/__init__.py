"""Plain-text receipts for the café till printer (32 columns)."""

from .render import Order, OrderLine, render

__all__ = ["Order", "OrderLine", "render"]
