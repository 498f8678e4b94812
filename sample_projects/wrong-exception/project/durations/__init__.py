"""Human-friendly durations for config files: "1h30m" in, seconds out."""

from .parse import format_duration, parse_duration

__all__ = ["format_duration", "parse_duration"]
