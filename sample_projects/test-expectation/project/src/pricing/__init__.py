"""Cart pricing: line items, tiered discounts and VAT."""

from .cart import Cart, LineItem
from .discounts import tier_discount

__all__ = ["Cart", "LineItem", "tier_discount"]
