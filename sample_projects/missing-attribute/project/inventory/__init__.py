"""Stock levels for the warehouse dashboard."""

from .stock import Inventory, OutOfStock

__all__ = ["Inventory", "OutOfStock"]
