#!/usr/bin/env bash
# Turn a sample into a ready-to-repair git repository.
#
#   sample_projects/prepare.sh <name> <dest>
#
# <dest> gets the healthy project as "Initial commit", then break.patch applied
# with `git am` (so the breaking commit carries the patch's own author, date and
# message), and the cached CI logs under .selfheal/logs/ with each run.json's
# head_sha set to the broken commit, the way a real run would point at it.
# Identities and dates are fixed, so the same sample always gives the same shas.
set -euo pipefail

usage() { echo "usage: prepare.sh <name> <dest>" >&2; exit 2; }
[ $# -eq 2 ] || usage
name=$1
dest=$2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sample="$here/$name"

if [ ! -d "$sample/project" ] || [ ! -f "$sample/break.patch" ]; then
  echo "prepare.sh: no sample named '$name' in $here" >&2
  exit 2
fi
if [ -e "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ]; then
  echo "prepare.sh: $dest exists and is not empty; hint: pass a new directory" >&2
  exit 2
fi
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"

# Keep the caller's git configuration (signing, hooks, templates) out of it.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Sam Rivera" GIT_AUTHOR_EMAIL="sam.rivera@example.com"
export GIT_COMMITTER_NAME="Sam Rivera" GIT_COMMITTER_EMAIL="sam.rivera@example.com"
export GIT_AUTHOR_DATE="2026-11-02T09:00:00Z" GIT_COMMITTER_DATE="2026-11-02T09:00:00Z"

cp -R "$sample/project/." "$dest/"
cd "$dest"
git init -q -b main --template= .
git add -A
git commit -q -m "Initial commit"
# --committer-date-is-author-date keeps the sha independent of the clock.
git am -q --committer-date-is-author-date "$sample/break.patch"

mkdir -p .selfheal/logs
if [ -d "$sample/logs" ]; then
  cp -R "$sample/logs/." .selfheal/logs/
fi
printf '*\n' > .selfheal/.gitignore

head_sha="$(git rev-parse HEAD)"
python3 - "$head_sha" .selfheal/logs <<'PY'
import json, sys
from pathlib import Path

sha, logs = sys.argv[1], Path(sys.argv[2])
for run_json in sorted(logs.glob("*/run.json")):
    run = json.loads(run_json.read_text(encoding="utf-8"))
    # head_sha goes right after id, where GitHub's own run objects put it.
    out = {"id": run["id"], "head_sha": sha}
    out.update((k, v) for k, v in run.items() if k not in out)
    run_json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
PY

echo "$dest"
