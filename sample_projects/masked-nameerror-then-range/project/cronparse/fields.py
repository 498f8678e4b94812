"""Parsing five-field cron expressions into explicit value sets.

Supported per field: `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`,
and comma-separated lists of those. Names (`mon`, `jan`) and the `?`/`L`
extensions are deliberately not supported: the scheduler's config linter
rejects them before they get here.
"""

from __future__ import annotations

from dataclasses import dataclass

# (name, lowest, highest) for each field, in expression order.
FIELDS = [("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("weekday", 0, 6)]


@dataclass(frozen=True)
class Schedule:
    minute: frozenset[int]
    hour: frozenset[int]
    day: frozenset[int]
    month: frozenset[int]
    weekday: frozenset[int]


def _number(text: str, name: str, lo: int, hi: int) -> int:
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise ValueError(f"{name}: {text!r} is not a number in {lo}-{hi}")
    return int(text)


def _expand(part: str, name: str, lo: int, hi: int) -> set[int]:
    base, _, step_text = part.partition("/")
    step = _number(step_text, name, 1, hi) if step_text else 1
    if base == "*":
        start, end = lo, hi
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = _number(first, name, lo, hi), _number(last, name, lo, hi)
        if start > end:
            raise ValueError(f"{name}: range {base!r} runs backwards")
    else:
        start = end = _number(base, name, lo, hi)
    return set(range(start, end + 1, step))


def parse(expression: str) -> Schedule:
    fields = expression.split()
    if len(fields) != len(FIELDS):
        raise ValueError(f"expected {len(FIELDS)} fields, got {len(fields)}: {expression!r}")
    values = {}
    for text, (name, lo, hi) in zip(fields, FIELDS):
        values[name] = frozenset().union(*(_expand(part, name, lo, hi) for part in text.split(",")))
    return Schedule(**values)
