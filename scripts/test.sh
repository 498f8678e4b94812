#!/usr/bin/env bash
# The project's test command (the README's quick start names it; .ci/run calls it).
#
#   scripts/test.sh              unit, integration and end-to-end tests, then the model tier
#   SELFHEAL_SKIP_MODEL_TIER=1   skip the tier that runs against a real local model
#
# End-to-end tests need a Docker Engine and the sandbox image; both are set up
# here when missing (as root), without any container registry.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-docker.sh
# Every ecosystem's image, and the JDK one (each rebuilt only when its recipe changes).
bash scripts/build-sandbox-image.sh all java

# Build every test binary first, so the model tier below never competes with
# the compiler for the CPU.
cargo test --workspace --no-run
cargo test --workspace

if [ "${SELFHEAL_SKIP_MODEL_TIER:-0}" = "1" ]; then
  echo "model tier skipped (SELFHEAL_SKIP_MODEL_TIER=1)" >&2
else
  bash tests/model-tier.sh
fi
