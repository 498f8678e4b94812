"""Greedy word wrapping for plain-text output."""

from .slug import normalize_whitespace


def wrap_words(text: str, width: int = 72) -> list[str]:
    """Wrap text into lines of at most `width` characters.

    Words longer than the width get a line of their own rather than being
    split, because splitting URLs and identifiers makes them unusable.
    """
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width}")
    lines: list[str] = []
    current = ""
    for word in normalize_whitespace(text).split(" "):
        if not word:
            continue
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= width:
            current = f"{current} {word}"
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines
