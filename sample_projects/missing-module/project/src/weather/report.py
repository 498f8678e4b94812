"""One-line reports built from a station reading."""

from __future__ import annotations

from dataclasses import dataclass

from weather.units import beaufort, c_to_f, kmh_to_mph


@dataclass(frozen=True)
class Reading:
    station: str
    temp_c: float
    wind_kmh: float
    humidity: int


def format_report(reading: Reading, imperial: bool = False) -> str:
    if imperial:
        temp = f"{c_to_f(reading.temp_c):.0f}°F"
        wind = f"{kmh_to_mph(reading.wind_kmh):.0f} mph"
    else:
        temp = f"{reading.temp_c:.0f}°C"
        wind = f"{reading.wind_kmh:.0f} km/h"
    force = beaufort(reading.wind_kmh)
    return f"{reading.station}: {temp}, wind {wind} (force {force}), humidity {reading.humidity}%"


def warnings(reading: Reading) -> list[str]:
    """Warnings worth a ping; thresholds agreed with the facilities team."""
    found = []
    if reading.temp_c <= 0:
        found.append("frost")
    if beaufort(reading.wind_kmh) >= 8:
        found.append("gale")
    if reading.humidity >= 90 and reading.temp_c > 25:
        found.append("muggy")
    return found
