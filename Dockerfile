# selfheal's sandbox images: the environments in which a candidate patch must
# pass the project's tests before selfheal commits it. One target per
# ecosystem; with access to a container registry, build them with:
#
#   docker build --target rust   -t selfheal-sandbox-rust:trixie .
#   docker build --target go     -t selfheal-sandbox-go:bookworm .
#   docker build --target node   -t selfheal-sandbox-node:bookworm .
#   docker build --target java   -t selfheal-sandbox-java:bookworm .
#   docker build --target python -t selfheal-sandbox-python:bookworm .
#
# (`python` is the last stage, so a plain `docker build -t
# selfheal-sandbox-python:bookworm .` still builds it.)
#
# Without a registry (air-gapped CI runners, this project's own test machines),
# use the offline route, which debootstraps the same Debian packages and
# imports them as images of the same tags:
#
#   scripts/ensure-docker.sh && scripts/build-sandbox-image.sh all
#
# Keep the package lists and environments in step with the script's recipes.
# Conventions shared by every image: user `sandbox` (uid/gid 1000) with HOME
# /home/sandbox, where the toolchain's caches live; /work owned by it; CI=true.
# The Rust image is Debian 13: bookworm's cargo cannot read version-4
# lockfiles. GOTOOLCHAIN=local keeps go from downloading a toolchain; GOTMPDIR
# is in the home because go runs test binaries from it and the sandbox mounts
# /tmp noexec.
#
# selfheal itself runs every container from these images with the network off,
# all capabilities dropped, no-new-privileges, memory/CPU/pids limits, and the
# project copied (never bind-mounted) into /work as uid 1000.

FROM debian:trixie-slim AS rust
LABEL org.selfheal.sandbox="rust" \
      org.selfheal.suite="trixie"
ENV CI=true LANG=C.UTF-8 HOME=/home/sandbox \
    CARGO_HOME=/home/sandbox/.cargo
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        cargo rustc libc6-dev gcc git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1000 sandbox \
    && useradd --uid 1000 --gid 1000 --create-home --home-dir /home/sandbox --shell /bin/sh sandbox \
    && install -d -o 1000 -g 1000 -m 0755 /work /home/sandbox/.cache "$CARGO_HOME"
USER 1000:1000
WORKDIR /work
CMD ["/bin/sh"]

FROM debian:bookworm-slim AS go
LABEL org.selfheal.sandbox="go" \
      org.selfheal.suite="bookworm"
ENV CI=true LANG=C.UTF-8 HOME=/home/sandbox \
    GOPATH=/home/sandbox/go \
    GOCACHE=/home/sandbox/.cache/go-build \
    GOTMPDIR=/home/sandbox/.cache/go-tmp \
    GOTOOLCHAIN=local
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        golang-go gcc libc6-dev git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1000 sandbox \
    && useradd --uid 1000 --gid 1000 --create-home --home-dir /home/sandbox --shell /bin/sh sandbox \
    && install -d -o 1000 -g 1000 -m 0755 /work /home/sandbox/.cache "$GOPATH" "$GOCACHE" "$GOTMPDIR"
USER 1000:1000
WORKDIR /work
CMD ["/bin/sh"]

FROM debian:bookworm-slim AS node
LABEL org.selfheal.sandbox="node" \
      org.selfheal.suite="bookworm"
ENV CI=true LANG=C.UTF-8 HOME=/home/sandbox \
    npm_config_cache=/home/sandbox/.npm \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        nodejs npm git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1000 sandbox \
    && useradd --uid 1000 --gid 1000 --create-home --home-dir /home/sandbox --shell /bin/sh sandbox \
    && install -d -o 1000 -g 1000 -m 0755 /work /home/sandbox/.cache "$npm_config_cache"
USER 1000:1000
WORKDIR /work
CMD ["/bin/sh"]

# Maven reads Debian's packaged plugins and junit4 from /usr/share/maven-repo
# as its local repository, so `mvn test` needs no network for a project that
# uses only JUnit 4 and the default plugins.
FROM debian:bookworm-slim AS java
LABEL org.selfheal.sandbox="java" \
      org.selfheal.suite="bookworm"
ENV CI=true LANG=C.UTF-8 HOME=/home/sandbox \
    MAVEN_OPTS=-Dmaven.repo.local=/usr/share/maven-repo
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        openjdk-17-jdk-headless maven junit4 libmaven-compiler-plugin-java \
        libmaven-resources-plugin-java libsurefire-java git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1000 sandbox \
    && useradd --uid 1000 --gid 1000 --create-home --home-dir /home/sandbox --shell /bin/sh sandbox \
    && install -d -o 1000 -g 1000 -m 0755 /work /home/sandbox/.cache
USER 1000:1000
WORKDIR /work
CMD ["/bin/sh"]

# The install phase (selfheal_validate::Installer) needs pip, venv, setuptools
# and ca-certificates.
FROM debian:bookworm-slim AS python
LABEL org.selfheal.sandbox="python" \
      org.selfheal.suite="bookworm"
ENV CI=true LANG=C.UTF-8 HOME=/home/sandbox \
    PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-pytest python-is-python3 git \
        python3-pip python3-venv python3-setuptools ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1000 sandbox \
    && useradd --uid 1000 --gid 1000 --create-home --home-dir /home/sandbox --shell /bin/sh sandbox \
    && install -d -o 1000 -g 1000 -m 0755 /work /home/sandbox/.cache
USER 1000:1000
WORKDIR /work
CMD ["/bin/sh"]
