"""Distances and bearings on a spherical Earth.

A sphere is accurate to about 0.5%, which is plenty for "is this address in
our delivery radius"; an ellipsoid model would cost a dependency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not -90 <= self.lat <= 90:
            raise ValueError(f"latitude out of range: {self.lat}")
        if not -180 <= self.lon <= 180:
            raise ValueError(f"longitude out of range: {self.lon}")


def distance_km(a: Point, b: Point) -> float:
    """Haversine distance, stable for small separations."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def bearing(a: Point, b: Point) -> float:
    """Initial compass bearing from a to b, in degrees [0, 360)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlon = math.radians(b.lon - a.lon)
    x = math.sin(dlon) * math.cos(lat2)
    y = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon)
    return (math.degrees(math.atan2(x, y)) + 360) % 360


def within_radius(center: Point, radius_km: float, points: list[Point]) -> list[Point]:
    """The points within radius_km of center, nearest first."""
    scored = sorted((distance_km(center, p), i) for i, p in enumerate(points))
    return [points[i] for d, i in scored if d <= radius_km]
