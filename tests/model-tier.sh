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
# slot), and stops the server again, also when the tests fail.
# Needs Docker and the sandbox image, like the other end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

size="${SELFHEAL_TIER_MODEL:-0.5b}"
export SELFHEAL_MODEL_PORT="${SELFHEAL_MODEL_PORT:-8089}"
port="$SELFHEAL_MODEL_PORT"

say() { printf 'model-tier: %s\n' "$*" >&2; }

say "building the test binaries"
cargo test -p selfheal-cli --test model_tier --no-run

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
