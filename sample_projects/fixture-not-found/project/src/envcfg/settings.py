"""Settings with types and defaults, read from a .env file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .dotenv import parse_dotenv

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    database_url: str
    debug: bool = False
    workers: int = 2


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name}: expected a boolean, got {value!r}")


def load_settings(path: Path) -> Settings:
    values = parse_dotenv(path.read_text(encoding="utf-8"))
    if "DATABASE_URL" not in values:
        raise ValueError(f"{path}: DATABASE_URL is required")
    return Settings(
        database_url=values["DATABASE_URL"],
        debug=_flag("DEBUG", values.get("DEBUG", "")),
        workers=int(values.get("WORKERS", "2")),
    )
