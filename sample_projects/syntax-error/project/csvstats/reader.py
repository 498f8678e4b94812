"""Reading CSV text into dictionaries keyed by header."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator


def read_rows(text: str, delimiter: str = ",") -> Iterator[dict[str, str]]:
    """Yield one dict per data row.

    Short rows are padded with empty strings and cells beyond the header are
    dropped: exported spreadsheets are often ragged, and a summary should
    still come out.
    """
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return
    for row in reader:
        cells = row + [""] * (len(header) - len(row))
        yield dict(zip(header, cells[: len(header)]))
