"""Shipping rates by zone and parcel weight.

Rates are in cents. Carriers bill per started kilogram, so weights are
rounded up before the per-kilogram rate applies.
"""

from __future__ import annotations

import math

ZONES = {
    "domestic": (495, 120),  # (base, per started kg)
    "eu": (1250, 300),
    "world": (2400, 650),
}


def compute_shipping(weight_kg: float, zone: str) -> int:
    """Shipping cost in cents for one parcel."""
    if weight_kg <= 0:
        raise ValueError(f"weight must be positive, got {weight_kg}")
    try:
        base, per_kg = ZONES[zone]
    except KeyError:
        raise ValueError(f"unknown zone {zone!r}; expected one of {sorted(ZONES)}") from None
    return base + per_kg * math.ceil(weight_kg)
