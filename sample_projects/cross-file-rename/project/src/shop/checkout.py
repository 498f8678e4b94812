"""Order totals."""

from __future__ import annotations

from dataclasses import dataclass

from shop import shipping

FREE_SHIPPING_FROM = 5000  # cents, domestic orders only


@dataclass(frozen=True)
class Item:
    name: str
    price: int  # cents
    weight_kg: float
    quantity: int = 1


def order_total(items: list[Item], zone: str) -> dict[str, int]:
    """Subtotal, shipping and total in cents for one order."""
    if not items:
        raise ValueError("an order needs at least one item")
    subtotal = sum(item.price * item.quantity for item in items)
    weight = sum(item.weight_kg * item.quantity for item in items)
    if zone == "domestic" and subtotal >= FREE_SHIPPING_FROM:
        cost = 0
    else:
        cost = shipping.compute_shipping(weight, zone)
    return {"subtotal": subtotal, "shipping": cost, "total": subtotal + cost}
