#!/usr/bin/env bash
# Makes sure a Docker Engine answers on this machine, so selfheal can validate
# patches in its sandbox. Idempotent: when `docker info` already works it does
# nothing. Otherwise it installs Debian's docker.io (when dockerd is missing),
# starts dockerd in the background and waits for it. Run as root.
set -euo pipefail

LOG="${SELFHEAL_DOCKERD_LOG:-/tmp/selfheal-dockerd.log}"
WAIT_SECS="${SELFHEAL_DOCKERD_WAIT:-60}"

say() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

engine_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

if engine_answers; then
    say "docker engine already answers; nothing to do"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || die "must run as root to install or start dockerd (hint: sudo $0)"

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    say "installing docker.io with apt-get"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
fi

# A daemon may be starting already (e.g. a second run of this script); only
# start one when none is running, otherwise just wait for it.
if pgrep -x dockerd >/dev/null 2>&1; then
    say "dockerd is running but not answering yet; waiting"
else
    say "starting dockerd in the background (log: $LOG)"
    nohup dockerd >"$LOG" 2>&1 &
fi

for _ in $(seq 1 "$WAIT_SECS"); do
    if engine_answers; then
        say "docker engine is ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown version))"
        exit 0
    fi
    sleep 1
done

say "last lines of $LOG:"
tail -n 20 "$LOG" >&2 2>/dev/null || true
die "docker engine did not answer within ${WAIT_SECS}s (see $LOG)"
