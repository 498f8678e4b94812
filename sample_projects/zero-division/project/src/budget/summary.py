"""Month-over-month comparisons of spending per category.

Amounts are whole cents (ints) so that shares and totals never pick up
floating-point residue before they are rounded for display.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Month:
    name: str
    spending: dict[str, int] = field(default_factory=dict)

    def add(self, category: str, cents: int) -> None:
        if cents < 0:
            raise ValueError(f"{category}: refunds go in their own category, got {cents}")
        self.spending[category] = self.spending.get(category, 0) + cents

    def total(self) -> int:
        return sum(self.spending.values())


def percent_change(before: int, after: int) -> float | None:
    """Change from `before` to `after` in percent, one decimal.

    None when there is no baseline: "new spending" is not a percentage.
    """
    if before == 0:
        return None
    return round((after - before) * 100 / before, 1)


def category_shares(month: Month) -> dict[str, float]:
    """Each category's share of the month's total, in percent."""
    total = month.total()
    if total == 0:
        return {}
    return {cat: round(cents * 100 / total, 1) for cat, cents in month.spending.items()}


def top_categories(month: Month, n: int = 3) -> list[tuple[str, int]]:
    """The n largest categories, ties broken by name for stable output."""
    return sorted(month.spending.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
