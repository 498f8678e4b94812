"""Reading the LMS export: one `student,assignment,score` line per result.

The export is hand-edited by teaching assistants, so blank lines, comments
and stray spaces are tolerated; a malformed score is an error with the line
number, because silently dropping a result would change someone's grade.
"""

from __future__ import annotations

from collections import defaultdict


class ScoreError(ValueError):
    pass


def parse_scores(text: str) -> dict[str, list[int]]:
    """Scores per student, in file order."""
    scores: dict[str, list[int]] = defaultdict(list)
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            student, _assignment, raw = (field.strip() for field in line.split(","))
        except ValueError:
            raise ScoreError(f"line {number}: expected 3 fields: {line!r}") from None
        if not raw.isdigit() or int(raw) > 100:
            raise ScoreError(f"line {number}: score must be 0-100, got {raw!r}")
        scores[student].append(int(raw))
    return dict(scores)
