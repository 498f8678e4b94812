#!/usr/bin/env bash
# Builds selfheal's sandbox images without a container registry: debootstrap a
# minimal Debian root filesystem with one ecosystem's toolchain and git, add
# the unprivileged `sandbox` user (uid 1000) and a writable /work, then
# `docker import` it. Run as root.
#
#   scripts/build-sandbox-image.sh [--force] [--tag TAG] [ECOSYSTEM...]
#
# ECOSYSTEM   image                              packages (minbase, nothing recommended)
#   python    selfheal-sandbox-python:bookworm   python3 pytest pip venv setuptools git (default)
#   rust      selfheal-sandbox-rust:trixie       cargo rustc libc6-dev gcc git
#   go        selfheal-sandbox-go:bookworm       golang-go (1.19) gcc libc6-dev git
#   node      selfheal-sandbox-node:bookworm     nodejs (18) npm git
#   java      selfheal-sandbox-java:bookworm     openjdk-17-jdk-headless maven (3.8) junit4 git,
#             and Debian's packaged compiler, resources and surefire plugins
#   all       python, rust, go and node, in that order (java only by name: it is
#             the largest, and Maven projects are the rarest here)
# Every image also has ca-certificates, CI=true, HOME=/home/sandbox, and the
# toolchain's caches under that home (CARGO_HOME, GOPATH, GOCACHE,
# npm_config_cache), so uid 1000 can build; GOTOOLCHAIN=local keeps go from
# downloading another toolchain. The Java image sets MAVEN_OPTS so that Maven's
# local repository is Debian's /usr/share/maven-repo (read-only): `mvn test`
# of a project that needs only JUnit 4 and the default plugins works with the
# network off, as Maven Central may be out of reach. Rust needs Debian 13: bookworm's cargo (1.65)
# cannot read version-4 lockfiles.
#
# Measured on a 2-core machine while other builds ran (November 2026): the
# whole build of each image, fastest and slowest of two or three, and its size.
#   python   50-135 s                              232 MB
#   rust     88-107 s  (debootstrap trixie 60-87)  837 MB  libLLVM, rustc, rustlib
#   go      110-134 s  (debootstrap 89-109)        806 MB  go 1.19 ships its source
#   node     85-158 s  (debootstrap 39-74, apt 36-59)  377 MB  npm pulls node-gyp, python3
#   java    131 s      (debootstrap 74, apt 49)    534 MB  the JDK; one run
#   all      about 8.5 minutes
# Downloading and unpacking packages is nearly all of it; the import takes
# 4-10 s. A second run with nothing changed takes a second.
#
# Each image carries a label with a hash of its recipe (this script's shared
# code plus that ecosystem's suite, packages and environment); an image of
# the same tag whose label differs is rebuilt, so a changed package list takes
# effect on the next run, and only for the images it concerns. `--force`
# rebuilds regardless; `--tag` names the image (one ecosystem only).
# debootstrap's own output goes to a log file per ecosystem, named on failure.
#
# Users who can reach a registry may instead build the root Dockerfile:
#   docker build --target rust -t selfheal-sandbox-rust:trixie .
set -euo pipefail

FORCE=0
TAG_OVERRIDE=""
MIRROR="${SELFHEAL_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
RECIPE_LABEL=org.selfheal.recipe
ECOSYSTEMS=(python rust go node)
SANDBOX_HOME=/home/sandbox

say() { printf 'build-sandbox-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# >>> recipes: each ecosystem's suite, packages and image environment. Only the
# chosen ecosystem's entry counts toward its recipe hash (see recipe_hash), so
# editing one entry rebuilds one image. Keep in step with the root Dockerfile.
# debootstrap does not resolve virtual packages: name them concretely (gcc and
# libc6-dev for the linkers cargo and go call), or, where a package's
# dependencies need apt's resolver (npm's hundreds of node-* libraries), list it
# in APT_PACKAGES, which apt-get installs in the new root afterwards.
recipe() {
    APT_PACKAGES=""
    case "$1" in
        python)
            TAG=selfheal-sandbox-python:bookworm SUITE=bookworm
            PACKAGES=python3,python3-pytest,python-is-python3,git,python3-pip,python3-venv,python3-setuptools,ca-certificates
            ENVS=(PYTHONDONTWRITEBYTECODE=1)
            ;;
        rust)
            TAG=selfheal-sandbox-rust:trixie SUITE=trixie
            PACKAGES=cargo,rustc,libc6-dev,gcc,git,ca-certificates
            ENVS=("CARGO_HOME=$SANDBOX_HOME/.cargo")
            ;;
        go)
            TAG=selfheal-sandbox-go:bookworm SUITE=bookworm
            PACKAGES=golang-go,gcc,libc6-dev,git,ca-certificates
            # GOTMPDIR: go runs its test binaries from its temporary directory,
            # and selfheal's sandbox mounts /tmp noexec (Docker's tmpfs default).
            ENVS=("GOPATH=$SANDBOX_HOME/go" "GOCACHE=$SANDBOX_HOME/.cache/go-build"
                  "GOTMPDIR=$SANDBOX_HOME/.cache/go-tmp" GOTOOLCHAIN=local)
            ;;
        node)
            TAG=selfheal-sandbox-node:bookworm SUITE=bookworm
            PACKAGES=nodejs,git,ca-certificates
            APT_PACKAGES=npm
            ENVS=("npm_config_cache=$SANDBOX_HOME/.npm" npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false)
            ;;
        java)
            # Maven Central may be out of reach: Debian's packaged plugins (compiler,
            # resources, surefire with its JUnit 4 provider) and junit4 are in
            # /usr/share/maven-repo, which Maven reads as its local repository.
            TAG=selfheal-sandbox-java:bookworm SUITE=bookworm
            PACKAGES=git,ca-certificates
            APT_PACKAGES=openjdk-17-jdk-headless,maven,junit4,libmaven-compiler-plugin-java,libmaven-resources-plugin-java,libsurefire-java
            ENVS=("MAVEN_OPTS=-Dmaven.repo.local=/usr/share/maven-repo")
            ;;
        *) die "unknown ecosystem: $1 (hint: one of ${ECOSYSTEMS[*]} java all)" ;;
    esac
}
# <<< recipes

# Runs a stage and prints one line with its name and duration.
stage() {
    local name="$1" start ms
    shift
    start="${EPOCHREALTIME/[.,]/}"
    "$@"
    ms=$(( (${EPOCHREALTIME/[.,]/} - start) / 1000 ))
    say "$(printf 'stage %-8s %-12s %d.%03ds' "$ECO" "$name" $((ms / 1000)) $((ms % 1000)))"
}

WANTED=()
while [ $# -gt 0 ]; do
    case "$1" in
        --force) FORCE=1 ;;
        --tag) [ $# -ge 2 ] || die "--tag needs a value"; TAG_OVERRIDE="$2"; shift ;;
        --tag=*) TAG_OVERRIDE="${1#--tag=}" ;;
        -h|--help) sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 0 ;;
        -*) die "unknown option: $1" ;;
        all) WANTED+=("${ECOSYSTEMS[@]}") ;;
        # Before ecosystems had names, the one argument was the Python image's tag.
        *:*) TAG_OVERRIDE="$1" ;;
        *) recipe "$1"; WANTED+=("$1") ;;
    esac
    shift
done
[ ${#WANTED[@]} -gt 0 ] || WANTED=(python)
[ -z "$TAG_OVERRIDE" ] || [ ${#WANTED[@]} -eq 1 ] || die "--tag names one image, but ${#WANTED[@]} ecosystems were asked for"

docker info >/dev/null 2>&1 || die "docker engine does not answer (hint: run scripts/ensure-docker.sh)"

# The recipe of one image: this whole script except the recipe table and
# comment lines, plus the ecosystem's own entry. Any code change rebuilds,
# which is cheaper than a stale image; a comment (these build times, say) does
# not, since four images take minutes.
recipe_hash() {
    { sed -e '/^# >>> recipes/,/^# <<< recipes/d' -e '/^[[:space:]]*#/d' "$0"
      printf '%s\n' "$1" "$SUITE" "$PACKAGES" "$APT_PACKAGES" "${ENVS[@]}"; } | sha256sum | cut -c1-64
}

up_to_date() {
    local have
    have="$(docker image inspect --format "{{index .Config.Labels \"$RECIPE_LABEL\"}}" "$TAG" 2>/dev/null || true)"
    if [ "$have" = "$RECIPE" ]; then
        say "image $TAG is up to date (recipe ${RECIPE:0:12}); nothing to do (use --force to rebuild)"
        return 0
    elif [ -n "$have" ] || docker image inspect "$TAG" >/dev/null 2>&1; then
        say "image $TAG was built from another recipe (${have:0:12}${have:+, }now ${RECIPE:0:12}); rebuilding"
    fi
    return 1
}

ROOT=""
cleanup() {
    [ -n "$ROOT" ] || return 0
    # A debootstrap that failed midway can leave its /proc and /sys mounted.
    umount -l "$ROOT/proc" "$ROOT/sys" 2>/dev/null || true
    rm -rf --one-file-system "$ROOT"
    ROOT=""
}
trap cleanup EXIT

run_debootstrap() {
    if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" >>"$LOG" 2>&1; then
        # The root, and debootstrap's detailed log in it, is deleted on exit.
        [ ! -f "$ROOT/debootstrap/debootstrap.log" ] ||
            { echo "--- $ROOT/debootstrap/debootstrap.log:"; cat "$ROOT/debootstrap/debootstrap.log"; } >>"$LOG"
        die "debootstrap $SUITE for $ECO failed; its output is in $LOG (last lines: $(tail -n 3 "$LOG" | tr '\n' ' '))"
    fi
}

# apt-get in the new root, for packages debootstrap cannot resolve; recommends
# stay out, as with debootstrap.
run_apt() {
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
    mount -t proc proc "$ROOT/proc"
    local rc=0
    { chroot "$ROOT" apt-get update &&
        chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends ${APT_PACKAGES//,/ } &&
        chroot "$ROOT" apt-get clean; } >>"$LOG" 2>&1 || rc=$?
    umount "$ROOT/proc"
    [ "$rc" -eq 0 ] ||
        die "apt-get install $APT_PACKAGES for $ECO failed; its output is in $LOG (last lines: $(tail -n 3 "$LOG" | tr '\n' ' '))"
}

# Trim what a test sandbox never needs; keeps the import smaller and faster.
trim() {
    rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/cache/apt/*.bin \
           "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/log/*.log \
           "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* \
           "$ROOT"/usr/share/locale/*
}

# An unprivileged user for the sandbox (uid 1000) with the toolchain's cache
# directories in its home, and a writable project dir it owns; the sandbox
# copies the tree to /work before starting the container.
add_user() {
    chroot "$ROOT" groupadd --gid 1000 sandbox
    chroot "$ROOT" useradd --uid 1000 --gid 1000 --create-home --home-dir "$SANDBOX_HOME" --shell /bin/sh sandbox
    install -d -o 1000 -g 1000 -m 0755 "$ROOT/work" "$ROOT$SANDBOX_HOME/.cache"
    local kv
    for kv in "${ENVS[@]}"; do
        case "$kv" in
            *="$SANDBOX_HOME"/*) install -d -o 1000 -g 1000 -m 0755 "$ROOT${kv#*=}" ;;
        esac
    done
}

import() {
    local changes=() kv
    for kv in CI=true LANG=C.UTF-8 "HOME=$SANDBOX_HOME" \
              PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${ENVS[@]}"; do
        changes+=(--change "ENV $kv")
    done
    tar -C "$ROOT" --numeric-owner -c . | docker import \
        "${changes[@]}" \
        --change 'WORKDIR /work' \
        --change 'USER 1000:1000' \
        --change "LABEL org.selfheal.sandbox=$ECO" \
        --change "LABEL org.selfheal.suite=$SUITE" \
        --change "LABEL $RECIPE_LABEL=$RECIPE" \
        --change 'CMD ["/bin/sh"]' \
        --message "selfheal sandbox: debootstrap $SUITE with $PACKAGES${APT_PACKAGES:+ and $APT_PACKAGES}" \
        - "$TAG" >/dev/null
}

build_one() {
    ECO="$1"
    recipe "$ECO"
    [ -z "$TAG_OVERRIDE" ] || TAG="$TAG_OVERRIDE"
    RECIPE="$(recipe_hash "$ECO")"
    if [ "$FORCE" -eq 0 ] && up_to_date; then
        return 0
    fi
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root (hint: sudo $0 $ECO)"
    LOG="${TMPDIR:-/tmp}/selfheal-build-sandbox-image-$ECO.log"
    : >"$LOG"
    if ! command -v debootstrap >/dev/null 2>&1; then
        install_debootstrap() {
            apt-get update -qq >>"$LOG" 2>&1 &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >>"$LOG" 2>&1 ||
                die "apt-get install debootstrap failed; see $LOG"
        }
        stage apt-get install_debootstrap
    fi
    # debootstrap only knows the suites its version shipped with.
    [ -e "/usr/share/debootstrap/scripts/$SUITE" ] ||
        die "this debootstrap does not know $SUITE (hint: install a newer debootstrap, e.g. from bookworm-backports)"
    ROOT="$(mktemp -d /tmp/selfheal-rootfs.XXXXXX)"
    local start="${EPOCHREALTIME/[.,]/}"
    say "building $TAG (debootstrap $SUITE: $PACKAGES${APT_PACKAGES:+; then apt-get: $APT_PACKAGES}; log in $LOG)"
    stage debootstrap run_debootstrap
    [ -z "$APT_PACKAGES" ] || stage apt-get run_apt
    stage trim trim
    stage user add_user
    stage import import
    cleanup
    local ms=$(( (${EPOCHREALTIME/[.,]/} - start) / 1000 ))
    say "built $TAG in $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s ($(docker image inspect --format '{{.Size}}' "$TAG") bytes, recipe ${RECIPE:0:12})"
}

for eco in "${WANTED[@]}"; do
    build_one "$eco"
done
