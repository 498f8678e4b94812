"""Column summaries for CSV files, standard library only."""

from .reader import read_rows
from .summary import ColumnSummary, summarize

__all__ = ["ColumnSummary", "read_rows", "summarize"]
