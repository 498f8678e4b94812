"""A .env parser covering what our deploy files use.

Supported: `KEY=value`, `export KEY=value`, comments, blank lines, single
and double quotes (double quotes understand \\n). Not supported: variable
expansion and multi-line values; both are rejected by the deploy linter.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


def parse_dotenv(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise ValueError(f"line {number}: expected KEY=value, got {raw!r}")
        key, value = match.groups()
        if value[:1] in ("'", '"') and value[-1:] == value[:1] and len(value) >= 2:
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace("\\n", "\n")
        else:
            # An unquoted value ends at an inline comment.
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values
