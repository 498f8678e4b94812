"""Semantic versions.

Release tags in our repos are written by hand, so parsing is lenient: a
leading "v" is dropped and missing minor or patch parts count as zero
("v2" is 2.0.0). Output is always the full MAJOR.MINOR.PATCH form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PRE = re.compile(r"^[0-9A-Za-z.-]+$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int = 0
    patch: int = 0
    # Ordering treats any pre-release as older than the release; comparing two
    # pre-releases by string is good enough for our rc1..rc9 tags.
    pre: str = "~"

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core if self.pre == "~" else f"{core}-{self.pre}"


def parse(text: str) -> Version:
    raw = text.strip().removeprefix("v")
    core, _, pre = raw.partition("-")
    if pre and not _PRE.match(pre):
        raise ValueError(f"invalid pre-release in {text!r}")
    parts = core.split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a version: {text!r}")
    numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
    return Version(numbers[0], numbers[1], numbers[2], pre or "~")


def bump(version: Version, part: str) -> Version:
    """The next release after `version`; bumping drops any pre-release."""
    if part == "major":
        return Version(version.major + 1)
    if part == "minor":
        return Version(version.major, version.minor + 1)
    if part == "patch":
        if version.pre != "~":
            return Version(version.major, version.minor, version.patch)
        return Version(version.major, version.minor, version.patch + 1)
    raise ValueError(f"unknown part {part!r}; expected major, minor or patch")
