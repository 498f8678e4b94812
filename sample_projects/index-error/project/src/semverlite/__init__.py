"""Parse, compare and bump semantic versions, leniently on input."""

from .version import Version, bump, parse

__all__ = ["Version", "bump", "parse"]
