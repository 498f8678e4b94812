#!/usr/bin/env bash
# Check every sample end to end (also run by CI):
#   - the healthy project passes `python3 -m pytest -q`;
#   - after `git apply break.patch` it fails, showing sample.json's expect_broken lines;
#   - fix.json (or fix-1.json, still failing with expect_after_fix_1, then fix-2.json)
#     applies strictly (each `old` found exactly once) and makes it pass;
#   - prepare.sh gives a clean repository whose cached logs are in place, point
#     at the broken commit and look like a GitHub run-log download.
#
# Usage: tools/verify.sh [SAMPLE ...]   (default: every sample)
# Needs python3 with pytest, and git. Exit status 0 when every sample passes.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
samples="$(dirname "$here")"
apply="$here/apply_edits.py"
work="$(mktemp -d "${TMPDIR:-/tmp}/selfheal-verify.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# Keep caches and bytecode out of the checkout and the prepared repositories.
export PYTHONDONTWRITEBYTECODE=1

failures=0
fail() { echo "FAIL $name: $*" >&2; failures=$((failures + 1)); return 1; }

# pytest_in DIR OUTFILE: run the suite the way the README does; returns pytest's status.
pytest_in() {
  (cd "$1" && python3 -m pytest -q -p no:cacheprovider >"$2" 2>&1)
}

# expect KEY OUTFILE: every string listed under KEY in sample.json occurs in OUTFILE.
expect() {
  python3 - "$sample/sample.json" "$1" "$2" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1], encoding="utf-8"))
out = open(sys.argv[3], encoding="utf-8").read()
missing = [s for s in meta.get(sys.argv[2], []) if s not in out]
for s in missing:
    print(f"  missing from test output: {s!r}", file=sys.stderr)
sys.exit(1 if missing else 0)
PY
}

check_logs() {
  python3 - "$1" "$sample/sample.json" <<'PY'
import json, re, sys
from pathlib import Path

repo, meta = Path(sys.argv[1]), json.load(open(sys.argv[2], encoding="utf-8"))
stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z ")
head = __import__("subprocess").run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
problems = []
runs = sorted((repo / ".selfheal/logs").glob("*/run.json"))
if [r.parent.name for r in runs] != [meta["ci"]["run_id"]]:
    problems.append(f"expected one run folder {meta['ci']['run_id']}, found {[r.parent.name for r in runs]}")
for run_json in runs:
    run = json.loads(run_json.read_text(encoding="utf-8"))
    if run.get("head_sha") != head or run.get("id") != run_json.parent.name:
        problems.append(f"{run_json}: head_sha {run.get('head_sha')} / id {run.get('id')} do not match HEAD {head}")
    job_files = sorted(run_json.parent.glob("[0-9]*_*.txt"))
    if not job_files:
        problems.append(f"{run_json.parent}: no <n>_<job>.txt files")
    failed_jobs = 0
    for job_file in job_files:
        job = job_file.stem.split("_", 1)[1]
        steps = sorted((run_json.parent / job).glob("*.txt"), key=lambda p: int(p.name.split("_", 1)[0]))
        if not steps:
            problems.append(f"{job_file.name}: no step files in {job}/")
            continue
        whole = job_file.read_text(encoding="utf-8")
        if "".join(p.read_text(encoding="utf-8") for p in steps) != whole:
            problems.append(f"{job_file.name} is not the concatenation of its step files")
        lines = whole.splitlines()
        bad = [l for l in lines if not stamp.match(l)]
        if bad:
            problems.append(f"{job_file.name}: {len(bad)} line(s) without a timestamp, first {bad[0]!r}")
        if [l[:28] for l in lines] != sorted(l[:28] for l in lines):
            problems.append(f"{job_file.name}: timestamps go backwards")
        if any(re.search(r"##\[error\]Process completed with exit code [12]\.$", l) for l in lines):
            failed_jobs += 1
        if whole.count("##[group]") != whole.count("##[endgroup]"):
            problems.append(f"{job_file.name}: unbalanced ##[group] / ##[endgroup]")
        if head not in whole:
            problems.append(f"{job_file.name}: the checkout step does not show the broken commit")
    if failed_jobs != 1:
        problems.append(f"expected exactly one job with a ##[error]Process completed line, found {failed_jobs}")
for p in problems:
    print(f"  logs: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}

verify_sample() {
  local dir="$work/$name" out="$work/$name.out"
  mkdir -p "$dir"

  cp -R "$sample/project/." "$dir/healthy"
  pytest_in "$dir/healthy" "$out" || { cat "$out" >&2; fail "healthy project does not pass"; return; }

  cp -R "$sample/project/." "$dir/broken"
  (cd "$dir/broken" && git apply "$sample/break.patch") || { fail "break.patch does not apply"; return; }
  if pytest_in "$dir/broken" "$out"; then fail "tests pass after break.patch"; return; fi
  expect expect_broken "$out" || { fail "broken state does not fail as described"; return; }

  if [ -f "$sample/fix.json" ]; then
    python3 "$apply" "$dir/broken" "$sample/fix.json" >/dev/null || { fail "fix.json does not apply"; return; }
  else
    python3 "$apply" "$dir/broken" "$sample/fix-1.json" >/dev/null || { fail "fix-1.json does not apply"; return; }
    if pytest_in "$dir/broken" "$out"; then fail "tests pass after fix-1.json alone"; return; fi
    expect expect_after_fix_1 "$out" || { fail "fix-1 state does not fail as described"; return; }
    python3 "$apply" "$dir/broken" "$sample/fix-2.json" >/dev/null || { fail "fix-2.json does not apply"; return; }
  fi
  pytest_in "$dir/broken" "$out" || { cat "$out" >&2; fail "tests still fail after the fix"; return; }

  "$samples/prepare.sh" "$name" "$dir/repo" >/dev/null || { fail "prepare.sh failed"; return; }
  local status
  status="$(git -C "$dir/repo" status --porcelain)"
  [ -z "$status" ] || { echo "$status" >&2; fail "prepared repository is not clean"; return; }
  [ "$(git -C "$dir/repo" rev-list --count HEAD)" = 2 ] || { fail "prepared repository should have 2 commits"; return; }
  check_logs "$dir/repo" || { fail "cached logs are not right"; return; }
  echo "ok   $name"
}

if [ $# -gt 0 ]; then
  names=("$@")
else
  names=()
  for meta in "$samples"/*/sample.json; do names+=("$(basename "$(dirname "$meta")")"); done
fi

for name in "${names[@]}"; do
  sample="$samples/$name"
  if [ ! -f "$sample/sample.json" ]; then fail "no such sample"; continue; fi
  verify_sample || true
done

echo "${#names[@]} sample(s), $failures failure(s)"
[ "$failures" -eq 0 ]
