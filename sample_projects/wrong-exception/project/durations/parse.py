"""Parsing and formatting durations such as "2h", "1h30m" or "45s".

Config loaders catch ValueError to report the bad key with its file and
line, so every malformed input must raise ValueError and nothing else.
"""

from __future__ import annotations

import re

UNITS = {"h": 3600, "m": 60, "s": 1}
_TOKEN = re.compile(r"(\d+)([a-z]+)")


def parse_duration(text: str) -> int:
    """Seconds in a duration string; units h, m, s, largest first."""
    text = text.strip().lower()
    if not text:
        raise ValueError("empty duration")
    pos = 0
    total = 0
    last_size = None
    for match in _TOKEN.finditer(text):
        if match.start() != pos:
            raise ValueError(f"unexpected text at {pos} in {text!r}")
        amount, unit = match.groups()
        if unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r} in {text!r}")
        size = UNITS[unit]
        if last_size is not None and size >= last_size:
            raise ValueError(f"units out of order in {text!r}")
        last_size = size
        total += int(amount) * size
        pos = match.end()
    if pos != len(text):
        raise ValueError(f"unexpected text at {pos} in {text!r}")
    return total


def format_duration(seconds: int) -> str:
    """The shortest canonical form: 5400 -> "1h30m"; zero is "0s"."""
    if seconds < 0:
        raise ValueError(f"negative duration: {seconds}")
    parts = []
    for unit, size in UNITS.items():
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"
