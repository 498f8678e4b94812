#!/usr/bin/env bash
# The model tier: selfheal's end-to-end loop against a real small model.
#
#   tests/model-tier.sh            0.5b model (fast, about 0.7 GB of RAM)
#   SELFHEAL_TIER_MODEL=1.5b tests/model-tier.sh
#
# Builds the test binary first, so the model never competes with the
# compiler for the CPU (a busy CPU slows a 2-core model server tenfold), then
# starts the server with scripts/local-model.sh, runs the ignored tests of
# crates/selfheal-cli/tests/model_tier.rs one at a time (the server has one
# slot), then `selfheal bench` on a small subset of the bundled samples
# (SELFHEAL_TIER_BENCH_CASES, time-capped by SELFHEAL_TIER_BENCH_SECS), and
# stops the server again, also when something fails.
# The bench asserts on the harness, not on the model's luck: exit 0, a JSON
# report that parses, a result for every case; it prints the repair rate.
# Needs Docker and the sandbox image, like the other end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

size="${SELFHEAL_TIER_MODEL:-0.5b}"
export SELFHEAL_MODEL_PORT="${SELFHEAL_MODEL_PORT:-8089}"
port="$SELFHEAL_MODEL_PORT"

say() { printf 'model-tier: %s\n' "$*" >&2; }

bench_cases="${SELFHEAL_TIER_BENCH_CASES:-syntax-error,str-int-concat}"
bench_secs="${SELFHEAL_TIER_BENCH_SECS:-1200}"

say "building the test binaries and selfheal"
cargo test -p selfheal-cli --test model_tier --no-run
cargo build -p selfheal-cli
selfheal_bin="$(pwd)/target/debug/selfheal"

started=0
stop_model() {
  if [ "$started" = 1 ]; then
    bash scripts/local-model.sh stop --model "$size" || say "warning: could not stop the model server"
  fi
}
trap stop_model EXIT

say "starting the $size model on port $port"
bash scripts/local-model.sh start --model "$size"
started=1

say "running the model tier"
SELFHEAL_TEST_MODEL_URL="http://127.0.0.1:$port/v1" \
SELFHEAL_TEST_MODEL_NAME=local-model \
  cargo test -p selfheal-cli --test model_tier -- --ignored --test-threads=1

say "bench on $bench_cases (at most ${bench_secs}s)"
bench_out="$(mktemp "${TMPDIR:-/tmp}/selfheal-tier-bench.XXXXXX")"
trap 'rm -f "$bench_out"; stop_model' EXIT
bench_rc=0
OPENAI_BASE_URL="http://127.0.0.1:$port/v1" \
OPENAI_API_KEY="${OPENAI_API_KEY:-sk-local}" \
SELFHEAL_MODEL=local-model \
  timeout --kill-after=30 "$bench_secs" "$selfheal_bin" bench sample_projects --json \
    --cases "$bench_cases" --max-attempts 2 --case-timeout "$((bench_secs / 3))" \
    >"$bench_out" || bench_rc=$?
if [ "$bench_rc" != 0 ]; then
  say "FAIL: selfheal bench exited $bench_rc (124: the ${bench_secs}s cap); its report:"
  cat "$bench_out" >&2
  exit 1
fi
python3 - "$bench_out" "$bench_cases" <<'PY'
import json, sys

report = json.load(open(sys.argv[1], encoding="utf-8"))
wanted = sorted(sys.argv[2].split(","))
assert report["schema"] == "selfheal.bench/v1", report.get("schema")
got = sorted(c["name"] for c in report["cases"])
assert got == wanted, f"cases {got} != {wanted}"
for case in report["cases"]:
    assert case["runs"], f"{case['name']}: no result"
    for run in case["runs"]:
        assert run["status"] in ("fixed", "not_fixed"), f"{case['name']}: {run}"
t = report["totals"]
print(f"model-tier: bench fixed {t['fixed']}/{t['runs']}, median {t['median_wall_ms'] / 1000:.1f}s per run, "
      f"tokens {t['tokens']['prompt']} prompt + {t['tokens']['completion']} completion", file=sys.stderr)
for case in report["cases"]:
    run = case["runs"][0]
    print(f"model-tier:   {case['name']}: {run['status']}, {run['attempts']} attempt(s), "
          f"{run['tokens']['prompt']}+{run['tokens']['completion']} tokens, {run['wall_ms'] / 1000:.1f}s", file=sys.stderr)
PY
