"""Averages and letter grades."""

from __future__ import annotations

# Lower bounds, highest first; agreed with the department in 2024.
LETTERS = [(90, "A"), (80, "B"), (70, "C"), (60, "D"), (0, "F")]


def average(scores: list[int], drop_lowest: bool = False) -> float:
    if not scores:
        raise ValueError("no scores")
    kept = sorted(scores)[1:] if drop_lowest and len(scores) > 1 else scores
    return sum(kept) / len(kept)


def letter(avg: float) -> str:
    for bound, grade in LETTERS:
        if avg >= bound:
            return grade
    return "F"


def report(scores: dict[str, list[int]], drop_lowest: bool = False) -> list[str]:
    """One line per student, alphabetical: `name  avg  letter`."""
    lines = []
    for student in sorted(scores):
        avg = average(scores[student], drop_lowest)
        lines.append(f"{student:<10}{avg:6.1f}  {letter(avg)}")
    return lines
