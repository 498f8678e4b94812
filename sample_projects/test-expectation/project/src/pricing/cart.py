"""A shopping cart that knows how to total itself.

Amounts are Decimals throughout; rounding happens once per derived amount
(discount, VAT) so the printed lines always add up to the printed total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from .discounts import tier_discount

CENT = Decimal("0.01")
VAT_RATE = Decimal("0.20")


@dataclass(frozen=True)
class LineItem:
    sku: str
    unit_price: Decimal
    quantity: int = 1

    def total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass
class Cart:
    items: list[LineItem] = field(default_factory=list)

    def add(self, sku: str, unit_price: str | int | Decimal, quantity: int = 1) -> Cart:
        if quantity <= 0:
            raise ValueError(f"quantity must be positive, got {quantity}")
        # str() first so that a float like 19.99 does not bring binary noise along.
        self.items.append(LineItem(sku, Decimal(str(unit_price)), quantity))
        return self

    def subtotal(self) -> Decimal:
        return sum((item.total() for item in self.items), Decimal("0"))

    def discount(self) -> Decimal:
        subtotal = self.subtotal()
        return (subtotal * tier_discount(subtotal)).quantize(CENT, ROUND_HALF_UP)

    def net(self) -> Decimal:
        return self.subtotal() - self.discount()

    def vat(self) -> Decimal:
        return (self.net() * VAT_RATE).quantize(CENT, ROUND_HALF_UP)

    def total(self) -> Decimal:
        return self.net() + self.vat()
