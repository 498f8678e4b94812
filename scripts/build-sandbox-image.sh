#!/usr/bin/env bash
# Builds selfheal's Python sandbox image without a container registry:
# debootstrap a minimal Debian bookworm root filesystem with python3, pytest,
# git, and what the dependency install phase needs (pip, venv, setuptools,
# ca-certificates), then `docker import` it. Takes about a minute on a fresh
# machine. Run as root.
#
#   scripts/build-sandbox-image.sh [--force] [TAG]
#
# The image carries a label with a hash of this script (the recipe); an image
# of the same tag whose label differs is rebuilt, so a changed package list
# takes effect on the next run. `--force` rebuilds regardless. debootstrap's
# own output goes to a log file, named on failure.
#
# Users who can reach a registry may instead build the root Dockerfile:
#   docker build -t selfheal-sandbox-python:bookworm .
set -euo pipefail

TAG="selfheal-sandbox-python:bookworm"
FORCE=0
MIRROR="${SELFHEAL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
# Keep in step with the root Dockerfile.
PACKAGES=python3,python3-pytest,python-is-python3,git,python3-pip,python3-venv,python3-setuptools,ca-certificates
RECIPE_LABEL=org.selfheal.recipe

say() { printf 'build-sandbox-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Runs a stage and prints one line with its name and duration.
stage() {
    local name="$1" start ms
    shift
    start="${EPOCHREALTIME/[.,]/}"
    "$@"
    ms=$(( (${EPOCHREALTIME/[.,]/} - start) / 1000 ))
    say "$(printf 'stage %-12s %d.%03ds' "$name" $((ms / 1000)) $((ms % 1000)))"
}

for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
        -*) die "unknown option: $arg" ;;
        *) TAG="$arg" ;;
    esac
done

docker info >/dev/null 2>&1 || die "docker engine does not answer (hint: run scripts/ensure-docker.sh)"

# The recipe is this whole script: any change to the package list or the steps
# below (even a comment) rebuilds, which is cheaper than a stale image.
RECIPE="$(sha256sum "$0" | cut -c1-64)"

if [ "$FORCE" -eq 0 ]; then
    have="$(docker image inspect --format "{{index .Config.Labels \"$RECIPE_LABEL\"}}" "$TAG" 2>/dev/null || true)"
    if [ "$have" = "$RECIPE" ]; then
        say "image $TAG is up to date (recipe ${RECIPE:0:12}); nothing to do (use --force to rebuild)"
        exit 0
    elif [ -n "$have" ] || docker image inspect "$TAG" >/dev/null 2>&1; then
        say "image $TAG was built from another recipe (${have:0:12}${have:+, }now ${RECIPE:0:12}); rebuilding"
    fi
fi

[ "$(id -u)" -eq 0 ] || die "debootstrap needs root (hint: sudo $0 $*)"

LOG="${TMPDIR:-/tmp}/selfheal-build-sandbox-image.log"
: >"$LOG"

if ! command -v debootstrap >/dev/null 2>&1; then
    install_debootstrap() {
        apt-get update -qq >>"$LOG" 2>&1 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >>"$LOG" 2>&1 ||
            die "apt-get install debootstrap failed; see $LOG"
    }
    stage apt-get install_debootstrap
fi

ROOT="$(mktemp -d /tmp/selfheal-rootfs.XXXXXX)"
cleanup() {
    # A debootstrap that failed midway can leave its /proc and /sys mounted.
    umount -l "$ROOT/proc" "$ROOT/sys" 2>/dev/null || true
    rm -rf --one-file-system "$ROOT"
}
trap cleanup EXIT

run_debootstrap() {
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" >>"$LOG" 2>&1 ||
        die "debootstrap $SUITE failed; its output is in $LOG (last lines: $(tail -n 3 "$LOG" | tr '\n' ' '))"
}

# Trim what a test sandbox never needs; keeps the import smaller and faster.
trim() {
    rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
           "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/*
}

# An unprivileged user for the sandbox (uid 1000), and a writable project dir
# it owns; the sandbox copies the tree to /work before starting the container.
add_user() {
    chroot "$ROOT" groupadd --gid 1000 sandbox
    chroot "$ROOT" useradd --uid 1000 --gid 1000 --create-home --shell /bin/sh sandbox
    install -d -o 1000 -g 1000 -m 0755 "$ROOT/work"
}

import() {
    tar -C "$ROOT" --numeric-owner -c . | docker import \
        --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
        --change 'ENV CI=true' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'WORKDIR /work' \
        --change 'USER 1000:1000' \
        --change 'LABEL org.selfheal.sandbox=python' \
        --change "LABEL org.selfheal.suite=$SUITE" \
        --change "LABEL $RECIPE_LABEL=$RECIPE" \
        --change 'CMD ["/bin/sh"]' \
        --message "selfheal sandbox: debootstrap $SUITE with $PACKAGES" \
        - "$TAG" >/dev/null
}

say "building $TAG (debootstrap $SUITE: $PACKAGES; log in $LOG)"
stage debootstrap run_debootstrap
stage trim trim
stage user add_user
stage import import
say "built $TAG ($(docker image inspect --format '{{.Size}}' "$TAG") bytes, recipe ${RECIPE:0:12})"
