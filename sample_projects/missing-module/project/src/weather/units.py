"""Unit conversions; stations report metric, some users want imperial."""


def c_to_f(celsius: float) -> float:
    return celsius * 9 / 5 + 32


def f_to_c(fahrenheit: float) -> float:
    return (fahrenheit - 32) * 5 / 9


def kmh_to_mph(kmh: float) -> float:
    return kmh / 1.609344


def beaufort(kmh: float) -> int:
    """Beaufort force for a wind speed, from the WMO upper bounds in km/h."""
    bounds = [1, 5, 11, 19, 28, 38, 49, 61, 74, 88, 102, 117]
    for force, upper in enumerate(bounds):
        if kmh <= upper:
            return force
    return 12
