# selfheal's Python sandbox image: the environment in which a candidate patch
# must pass the project's tests before selfheal commits it.
#
# With access to a container registry, build it with:
#
#   docker build -t selfheal-sandbox-python:bookworm .
#
# Without one (air-gapped CI runners, this project's own test machines), use
# the offline route, which debootstraps the same Debian bookworm packages and
# imports them as an image of the same tag:
#
#   scripts/ensure-docker.sh && scripts/build-sandbox-image.sh
#
# The install phase (selfheal_validate::Installer) needs pip, venv, setuptools
# and ca-certificates; keep the package list in step with the script's.
#
# selfheal itself runs every container from this image with the network off,
# all capabilities dropped, no-new-privileges, memory/CPU/pids limits, and the
# project copied (never bind-mounted) into /work as uid 1000.
FROM debian:bookworm-slim

LABEL org.selfheal.sandbox="python" \
      org.selfheal.suite="bookworm"

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-pytest python-is-python3 git \
        python3-pip python3-venv python3-setuptools ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1000 sandbox \
    && useradd --uid 1000 --gid 1000 --create-home --shell /bin/sh sandbox \
    && install -d -o 1000 -g 1000 -m 0755 /work

ENV PYTHONDONTWRITEBYTECODE=1 \
    CI=true \
    LANG=C.UTF-8

USER 1000:1000
WORKDIR /work
CMD ["/bin/sh"]
