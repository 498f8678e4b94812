"""Great-circle helpers for the delivery-radius service."""

from .sphere import Point, bearing, distance_km, within_radius

__all__ = ["Point", "bearing", "distance_km", "within_radius"]
