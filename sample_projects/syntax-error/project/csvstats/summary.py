"""Per-column statistics over rows from `read_rows`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ColumnSummary:
    name: str
    count: int
    mean: float | None
    minimum: float | None
    maximum: float | None


def _number(cell: str) -> float | None:
    try:
        return float(cell.replace("_", ""))
    except ValueError:
        return None


def summarize(rows: Iterable[dict[str, str]]) -> dict[str, ColumnSummary]:
    """Summarise each column; cells that are not numbers are not counted."""
    values: dict[str, list[float]] = {}
    for row in rows:
        for name, cell in row.items():
            column = values.setdefault(name, [])
            number = _number(cell.strip())
            if number is not None:
                column.append(number)
    return {
        name: ColumnSummary(
            name=name,
            count=len(nums),
            mean=sum(nums) / len(nums) if nums else None,
            minimum=min(nums, default=None),
            maximum=max(nums, default=None),
        )
        for name, nums in values.items()
    }
