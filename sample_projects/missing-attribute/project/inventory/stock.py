"""An in-memory stock ledger keyed by SKU.

The dashboard rebuilds it from the event log on start-up, so it keeps no
history of its own: just quantities on hand and unit costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


class OutOfStock(Exception):
    def __init__(self, sku: str, wanted: int, available: int) -> None:
        super().__init__(f"{sku}: wanted {wanted}, only {available} available")
        self.sku = sku
        self.wanted = wanted
        self.available = available


@dataclass
class _Line:
    quantity: int
    unit_cost: Decimal


class Inventory:
    def __init__(self, reorder_level: int = 5) -> None:
        self.reorder_level = reorder_level
        self._items: dict[str, _Line] = {}

    def receive(self, sku: str, quantity: int, unit_cost: str | Decimal) -> None:
        if quantity <= 0:
            raise ValueError(f"quantity must be positive, got {quantity}")
        line = self._items.get(sku)
        if line is None:
            self._items[sku] = _Line(quantity, Decimal(unit_cost))
        else:
            line.quantity += quantity
            line.unit_cost = Decimal(unit_cost)

    def ship(self, sku: str, quantity: int) -> None:
        available = self.quantity(sku)
        if quantity > available:
            raise OutOfStock(sku, quantity, available)
        self._items[sku].quantity -= quantity

    def quantity(self, sku: str) -> int:
        line = self._items.get(sku)
        return line.quantity if line else 0

    def total_value(self) -> Decimal:
        return sum((l.quantity * l.unit_cost for l in self._items.values()), Decimal("0"))

    def low_stock(self) -> list[str]:
        """SKUs at or below the reorder level, most urgent first."""
        low = [(line.quantity, sku) for sku, line in self._items.items() if line.quantity <= self.reorder_level]
        return [sku for _, sku in sorted(low)]
