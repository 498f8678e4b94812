#!/usr/bin/env bash
# Builds selfheal's Python sandbox image without a container registry:
# debootstrap a minimal Debian bookworm root filesystem with python3, pytest
# and git, then `docker import` it. The image is cached by tag; `--force`
# rebuilds it. Takes about a minute on a fresh machine. Run as root.
#
#   scripts/build-sandbox-image.sh [--force] [TAG]
#
# Users who can reach a registry may instead build the root Dockerfile:
#   docker build -t selfheal-sandbox-python:bookworm .
set -euo pipefail

TAG="selfheal-sandbox-python:bookworm"
FORCE=0
MIRROR="${SELFHEAL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
PACKAGES=python3,python3-pytest,python-is-python3,git

say() { printf 'build-sandbox-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
        -*) die "unknown option: $arg" ;;
        *) TAG="$arg" ;;
    esac
done

docker info >/dev/null 2>&1 || die "docker engine does not answer (hint: run scripts/ensure-docker.sh)"

if [ "$FORCE" -eq 0 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
    say "image $TAG already exists; nothing to do (use --force to rebuild)"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || die "debootstrap needs root (hint: sudo $0 $*)"

if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap with apt-get"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
fi

ROOT="$(mktemp -d /tmp/selfheal-rootfs.XXXXXX)"
cleanup() {
    # A debootstrap that failed midway can leave its /proc and /sys mounted.
    umount -l "$ROOT/proc" "$ROOT/sys" 2>/dev/null || true
    rm -rf --one-file-system "$ROOT"
}
trap cleanup EXIT

say "debootstrap $SUITE ($PACKAGES) into $ROOT"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" >&2

# Trim what a test sandbox never needs; keeps the import smaller and faster.
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
       "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/*

# An unprivileged user for the sandbox (uid 1000), and a writable project dir
# it owns; the sandbox copies the tree to /work before starting the container.
chroot "$ROOT" groupadd --gid 1000 sandbox
chroot "$ROOT" useradd --uid 1000 --gid 1000 --create-home --shell /bin/sh sandbox
install -d -o 1000 -g 1000 -m 0755 "$ROOT/work"

say "importing the root filesystem as $TAG"
tar -C "$ROOT" --numeric-owner -c . | docker import \
    --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
    --change 'ENV CI=true' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'WORKDIR /work' \
    --change 'USER 1000:1000' \
    --change 'LABEL org.selfheal.sandbox=python' \
    --change "LABEL org.selfheal.suite=$SUITE" \
    --change 'CMD ["/bin/sh"]' \
    --message "selfheal sandbox: debootstrap $SUITE with $PACKAGES" \
    - "$TAG" >/dev/null

say "built $TAG ($(docker image inspect --format '{{.Size}}' "$TAG") bytes)"
