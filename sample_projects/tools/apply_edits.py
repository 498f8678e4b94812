#!/usr/bin/env python3
"""Apply selfheal edit files (fix.json, fix-1.json, ...) to a project tree.

The format is the one selfheal asks the model for:

    {"diagnosis": {"summary": "...", "root_cause": "..."},
     "edits": [{"file": "src/pkg/mod.py", "old": "exact text", "new": "replacement"}]}

selfheal itself is lenient with what a model writes; this applier is strict on
purpose, because the fix files are fixtures: every `old` must occur exactly
once in the file as it stands when the edit is applied, so a sample that has
drifted fails loudly here instead of quietly in an end-to-end test.

Usage: apply_edits.py PROJECT_ROOT FIX.json [FIX.json ...]
Exit status: 0 applied, 1 an edit did not apply, 2 a malformed edit file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path, PurePosixPath


class EditError(Exception):
    """An edit that is well formed but does not fit the tree."""


class FormatError(Exception):
    """An edit file that does not follow the format."""


def load(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise FormatError(f"{path}: cannot read edit file: {err}") from err
    diagnosis = doc.get("diagnosis") if isinstance(doc, dict) else None
    if not isinstance(diagnosis, dict) or not all(
        isinstance(diagnosis.get(k), str) and diagnosis[k].strip()
        for k in ("summary", "root_cause")
    ):
        raise FormatError(f"{path}: needs diagnosis.summary and diagnosis.root_cause")
    edits = doc.get("edits")
    if not isinstance(edits, list) or not edits:
        raise FormatError(f"{path}: needs a non-empty list of edits")
    for i, edit in enumerate(edits):
        if not isinstance(edit, dict) or not all(
            isinstance(edit.get(k), str) for k in ("file", "old", "new")
        ):
            raise FormatError(f"{path}: edit {i} needs string fields file, old and new")
        rel = PurePosixPath(edit["file"])
        if rel.is_absolute() or ".." in rel.parts or not edit["file"]:
            raise FormatError(f"{path}: edit {i} names an unsafe path {edit['file']!r}")
        if not edit["old"]:
            raise FormatError(f"{path}: edit {i} has an empty old text")
        if edit["old"] == edit["new"]:
            raise FormatError(f"{path}: edit {i} changes nothing")
    return doc


def apply(root: Path, doc: dict, source: str) -> list[str]:
    """Apply every edit in order; returns the files changed."""
    changed: list[str] = []
    for i, edit in enumerate(doc["edits"]):
        target = root / edit["file"]
        try:
            text = target.read_text(encoding="utf-8")
        except OSError as err:
            raise EditError(f"{source}: edit {i}: cannot read {edit['file']}: {err}") from err
        count = text.count(edit["old"])
        if count != 1:
            raise EditError(
                f"{source}: edit {i}: old text occurs {count} times in {edit['file']}, expected once"
            )
        target.write_text(text.replace(edit["old"], edit["new"], 1), encoding="utf-8")
        if edit["file"] not in changed:
            changed.append(edit["file"])
    return changed


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: apply_edits.py PROJECT_ROOT FIX.json [FIX.json ...]", file=sys.stderr)
        return 2
    root = Path(argv[1])
    try:
        for name in argv[2:]:
            doc = load(Path(name))
            changed = apply(root, doc, name)
            print(f"{name}: applied {len(doc['edits'])} edit(s) to {', '.join(changed)}")
    except FormatError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except EditError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
