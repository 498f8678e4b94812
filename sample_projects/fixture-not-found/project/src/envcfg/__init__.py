"""Typed settings from .env files."""

from .dotenv import parse_dotenv
from .settings import Settings, load_settings

__all__ = ["Settings", "load_settings", "parse_dotenv"]
