"""Monthly spending summaries for the household budget sheet."""

from .summary import Month, category_shares, percent_change, top_categories

__all__ = ["Month", "category_shares", "percent_change", "top_categories"]
