#!/usr/bin/env python3
"""Regenerate the cached GitHub Actions logs of the samples.

For each sample this builds the broken repository with prepare.sh, really
runs the workflow's test command (from sample.json, the same line as the
project's .github/workflows/ci.yml) on it, and wraps the output the way a
GitHub-hosted runner writes it: one folder per job with a file per step,
the whole-job file beside it, every line prefixed by a timestamp with seven
fractional digits, `##[group]` blocks and the cyan script echo that the
runner colours with ANSI codes.

Only the test output is real. The runner boilerplate around it (runner
version, checkout, setup-python, pip) is written here to look like what
ubuntu-24.04 runners print; paths in the test output are rewritten from the
temporary checkout and the local interpreter to the runner's
(/home/runner/work/<repo>/<repo>, /opt/hostedtoolcache/Python/...), and CI=true
is set because pytest changes its summaries when it detects CI. Timestamps
come from a generator seeded by the run id, so only pytest's own timings
change between regenerations.

Usage: make_logs.py [SAMPLE ...]   (default: every sample)
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent
PY_VERSION = platform.python_version()
TOOLCACHE = f"/opt/hostedtoolcache/Python/{PY_VERSION}/x64"
CHECKOUT_SHA = "11bd71901bbe5b1630ceea73d27597364c9af683"
SETUP_PYTHON_SHA = "a26af69be951a213d495a4c3e4e4022e16d87065"
CYAN, RESET = "\x1b[36;1m", "\x1b[0m"


class Clock:
    """Monotonic fake timestamps in 100 ns ticks, as the runner prints them."""

    def __init__(self, start: dt.datetime, rng: random.Random) -> None:
        self.t = start
        self.rng = rng

    def tick(self, lo_ms: float = 0.05, hi_ms: float = 1.5) -> str:
        self.t += dt.timedelta(microseconds=self.rng.uniform(lo_ms, hi_ms) * 1000)
        return self.stamp()

    def jump(self, seconds: float) -> None:
        self.t += dt.timedelta(seconds=seconds * self.rng.uniform(0.8, 1.25))

    def stamp(self) -> str:
        ticks = self.rng.randrange(10)  # the runner's seventh digit
        return self.t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.t.microsecond:06d}{ticks}Z"


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "0"


def run_group(title_lines: list[str], env: dict[str, str]) -> list[str]:
    out = [f"##[group]Run {title_lines[0]}"]
    out += [f"{CYAN}{line}{RESET}" for line in title_lines]
    out.append("shell: /usr/bin/bash -e {0}")
    out.append("env:")
    out += [f"  {k}: {v}" for k, v in env.items()]
    out.append("##[endgroup]")
    return out


def python_env() -> dict[str, str]:
    return {
        "pythonLocation": TOOLCACHE,
        "PKG_CONFIG_PATH": f"{TOOLCACHE}/lib/pkgconfig",
        "Python_ROOT_DIR": TOOLCACHE,
        "Python2_ROOT_DIR": TOOLCACHE,
        "Python3_ROOT_DIR": TOOLCACHE,
        "LD_LIBRARY_PATH": f"{TOOLCACHE}/lib",
    }


def set_up_job(job_name: str, rng: random.Random) -> list[str]:
    return [
        "Current runner version: '2.329.0'",
        f"Runner name: 'GitHub Actions 1000{rng.randrange(100000, 999999)}'",
        "Runner group name: 'GitHub Actions'",
        f"Machine name: 'runnervm{rng.choice('abcdefgh')}{rng.randrange(10)}{rng.choice('klmnop')}{rng.randrange(10)}'",
        "##[group]Operating System",
        "Ubuntu",
        "24.04.3",
        "LTS",
        "##[endgroup]",
        "##[group]Runner Image",
        "Image: ubuntu-24.04",
        "Version: 20261109.1.0",
        "Included Software: https://github.com/actions/runner-images/blob/ubuntu24/20261109.1/images/ubuntu/Ubuntu2404-Readme.md",
        "Image Release: https://github.com/actions/runner-images/releases/tag/ubuntu24%2F20261109.1",
        "##[endgroup]",
        "##[group]GITHUB_TOKEN Permissions",
        "Contents: read",
        "Metadata: read",
        "Packages: read",
        "##[endgroup]",
        "Secret source: Actions",
        "Prepare workflow directory",
        "Prepare all required actions",
        "Getting action download info",
        f"Download action repository 'actions/checkout@v4' (SHA:{CHECKOUT_SHA})",
        f"Download action repository 'actions/setup-python@v5' (SHA:{SETUP_PYTHON_SHA})",
        f"Complete job name: {job_name}",
    ]


def checkout(repo: str, workdir: str, sha: str, rng: random.Random) -> list[str]:
    temp_home = f"/home/runner/work/_temp/{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    return [
        "##[group]Run actions/checkout@v4",
        "with:",
        f"  repository: {repo}",
        "  token: ***",
        "  ssh-strict: true",
        "  ssh-user: git",
        "  persist-credentials: true",
        "  clean: true",
        "  sparse-checkout-cone-mode: true",
        "  fetch-depth: 1",
        "  fetch-tags: false",
        "  show-progress: true",
        "  lfs: false",
        "  submodules: false",
        "  set-safe-directory: true",
        "##[endgroup]",
        f"Syncing repository: {repo}",
        "##[group]Getting Git version info",
        f"Working directory is '{workdir}'",
        "[command]/usr/bin/git version",
        "git version 2.51.2",
        "##[endgroup]",
        f"Temporarily overriding HOME='{temp_home}' before making global git config changes",
        "Adding repository directory to the temporary git global config as a safe directory",
        f"[command]/usr/bin/git config --global --add safe.directory {workdir}",
        f"Deleting the contents of '{workdir}'",
        "##[group]Initializing the repository",
        f"[command]/usr/bin/git init {workdir}",
        f"Initialized empty Git repository in {workdir}/.git/",
        f"[command]/usr/bin/git remote add origin https://github.com/{repo}",
        "##[endgroup]",
        "##[group]Disabling automatic garbage collection",
        "[command]/usr/bin/git config --local gc.auto 0",
        "##[endgroup]",
        "##[group]Setting up auth",
        "[command]/usr/bin/git config --local --name-only --get-regexp core\\.sshCommand",
        "[command]/usr/bin/git config --local http.https://github.com/.extraheader AUTHORIZATION: basic ***",
        "##[endgroup]",
        "##[group]Fetching the repository",
        "[command]/usr/bin/git -c protocol.version=2 fetch --no-tags --prune --no-recurse-submodules "
        f"--depth=1 origin +{sha}:refs/remotes/origin/main",
        f"From https://github.com/{repo}",
        f" * [new ref]         {sha} -> origin/main",
        "##[endgroup]",
        "##[group]Determining the checkout info",
        "##[endgroup]",
        "[command]/usr/bin/git sparse-checkout disable",
        "[command]/usr/bin/git config --local --unset-all extensions.worktreeConfig",
        "##[group]Checking out the ref",
        "[command]/usr/bin/git checkout --progress --force -B main refs/remotes/origin/main",
        "Switched to a new branch 'main'",
        "branch 'main' set up to track 'origin/main'.",
        "##[endgroup]",
        "[command]/usr/bin/git log -1 --format=%H",
        sha,
    ]


def setup_python(matrix: str | None) -> list[str]:
    return [
        "##[group]Run actions/setup-python@v5",
        "with:",
        f"  python-version: {matrix or '3.11'}",
        "  check-latest: false",
        "  token: ***",
        "  update-environment: true",
        "  allow-prereleases: false",
        "  freethreaded: false",
        "##[endgroup]",
        "##[group]Installed versions",
        f"Successfully set up CPython ({PY_VERSION})",
        "##[endgroup]",
    ]


def install_deps() -> list[str]:
    site = f"{TOOLCACHE}/lib/python{PY_VERSION.rsplit('.', 1)[0]}/site-packages"
    pkgs = {
        "pytest": version("pytest"),
        "iniconfig": version("iniconfig"),
        "packaging": version("packaging"),
        "pluggy": version("pluggy"),
        "pygments": version("pygments"),
    }
    lines = run_group(["python -m pip install --upgrade pip", "pip install pytest"], python_env())
    lines.append(f"Requirement already satisfied: pip in {site} (25.3)")
    lines.append("Collecting pytest")
    lines.append(f"  Downloading pytest-{pkgs['pytest']}-py3-none-any.whl.metadata (7.7 kB)")
    for dep, spec in [("iniconfig", ">=1.0.1"), ("packaging", ">=22"), ("pluggy", "<2,>=1.5"), ("pygments", ">=2.7.2")]:
        lines.append(f"Collecting {dep}{spec} (from pytest)")
        lines.append(f"  Downloading {dep}-{pkgs[dep]}-py3-none-any.whl.metadata (2.{len(dep)} kB)")
    for dep, size in [("pytest", "375 kB"), ("iniconfig", "7.5 kB"), ("packaging", "74 kB"), ("pluggy", "20 kB"), ("pygments", "1.2 MB")]:
        lines.append(f"Downloading {dep}-{pkgs[dep]}-py3-none-any.whl ({size})")
        if dep == "pygments":
            lines.append(f"   {'━' * 40} 1.2/1.2 MB 71.3 MB/s  0:00:00")
    lines.append("Installing collected packages: pygments, pluggy, packaging, iniconfig, pytest")
    lines.append("")
    installed = " ".join(f"{d}-{pkgs[d]}" for d in sorted(pkgs))
    lines.append(f"Successfully installed {installed}")
    return lines


def post_checkout(workdir: str, rng: random.Random) -> list[str]:
    temp_home = f"/home/runner/work/_temp/{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    return [
        "Post job cleanup.",
        "[command]/usr/bin/git version",
        "git version 2.51.2",
        f"Temporarily overriding HOME='{temp_home}' before making global git config changes",
        "Adding repository directory to the temporary git global config as a safe directory",
        f"[command]/usr/bin/git config --global --add safe.directory {workdir}",
        "[command]/usr/bin/git config --local --name-only --get-regexp core\\.sshCommand",
        "[command]/usr/bin/git config --local --name-only --get-regexp http\\.https\\:\\/\\/github\\.com\\/\\.extraheader",
        "http.https://github.com/.extraheader",
        "[command]/usr/bin/git config --local --unset-all http.https://github.com/.extraheader",
    ]


def run_tests(repo_dir: Path, command: str, workdir: str) -> tuple[int, list[str]]:
    argv = shlex.split(command)
    if argv[0] != "python":
        raise SystemExit(f"make_logs: the test command must start with `python`, got {command!r}")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(repo_dir.parent),
        "LANG": "C.UTF-8",
        "COLUMNS": "80",
        # GitHub sets both; pytest stops truncating its summaries when CI is set.
        "CI": "true",
        "GITHUB_ACTIONS": "true",
    }
    proc = subprocess.run(
        [sys.executable, *argv[1:]],
        cwd=repo_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    text = proc.stdout
    for local, runner in [
        (str(repo_dir), workdir),
        (sys.executable, f"{TOOLCACHE}/bin/python"),
        (sys.prefix, TOOLCACHE),
        (sys.base_prefix, TOOLCACHE),
    ]:
        text = text.replace(local, runner)
    return proc.returncode, text.splitlines()


Stamped = list[tuple[str, str]]


def job_steps(
    clock: Clock,
    rng: random.Random,
    job: dict,
    repository: str,
    workdir: str,
    sha: str,
    install: bool,
    output: list[str],
    code: int,
) -> list[tuple[str, Stamped]]:
    """The step files of one job, in order, as (file name, stamped lines)."""
    steps: list[tuple[str, Stamped]] = []
    job_name = job["name"]

    def step(file_name: str, lines: list[str], lead_s: float, spread: tuple[float, float] = (0.05, 1.5)) -> None:
        clock.jump(lead_s)
        steps.append((file_name, [(clock.tick(*spread), line) for line in lines]))

    step("Set up job", set_up_job(job_name, rng), 0.0)
    step("Run actions_checkout@v4", checkout(repository, workdir, sha, rng), 0.9, (0.1, 40))
    step("Set up Python", setup_python(job.get("matrix")), 0.4)
    if install:
        lines = install_deps()
        header = lines.index("##[endgroup]") + 1
        clock.jump(1.2)
        # The runner prints the group header at once; pip's lines come as it downloads.
        stamped = [(clock.tick(), line) for line in lines[:header]]
        stamped += [(clock.tick(20, 300), line) for line in lines[header:]]
        steps.append(("Install dependencies", stamped))

    clock.jump(0.3)
    stamped = [(clock.tick(), line) for line in run_group([job["command"]], python_env())]
    clock.jump(0.35)  # interpreter start-up before the tool prints anything
    # Spread the output over the duration pytest reports, so the timestamps
    # agree with its own "in 0.20s".
    durations = re.findall(r" in (\d+\.\d+)s", "\n".join(output[-3:]))
    per_line_ms = float(durations[-1]) * 1000 / max(len(output), 1) if durations else 0.4
    stamped += [(clock.tick(per_line_ms * 0.5, per_line_ms * 1.5), line) for line in output]
    if code != 0:
        stamped.append((clock.tick(5, 30), f"##[error]Process completed with exit code {code}."))
    steps.append((job["step"], stamped))

    step("Post Run actions_checkout@v4", post_checkout(workdir, rng), 0.3)
    step("Complete job", ["Cleaning up orphan processes"], 0.2)
    return [(f"{i}_{title.replace('/', '_')}.txt", lines) for i, (title, lines) in enumerate(steps, start=1)]


def make(name: str) -> None:
    sample = SAMPLES / name
    meta = json.loads((sample / "sample.json").read_text(encoding="utf-8"))
    ci = meta["ci"]
    workflow = (sample / "project/.github/workflows/ci.yml").read_text(encoding="utf-8")
    # Jobs that pass come first (a lint job, say); the failing test job is last.
    jobs = [dict(j, name=j["job"]) for j in ci.get("jobs_before", [])]
    main_job = {k: ci[k] for k in ("job", "step", "command") if k in ci} | {"matrix": ci.get("matrix")}
    main_job["name"] = f"{ci['job']} ({ci['matrix']})" if ci.get("matrix") else ci["job"]
    jobs.append(main_job)
    for job in jobs:
        if f"run: {job['command']}\n" not in workflow:
            raise SystemExit(f"make_logs: {name}: ci.yml does not run {job['command']!r}")
    repo_name = ci["repository"].split("/", 1)[1]
    workdir = f"/home/runner/work/{repo_name}/{repo_name}"

    results: list[tuple[int, list[str]]] = []
    with tempfile.TemporaryDirectory(prefix="selfheal-sample-") as tmp:
        repo_dir = Path(tmp) / repo_name
        subprocess.run(
            [str(SAMPLES / "prepare.sh"), name, str(repo_dir)], check=True, stdout=subprocess.DEVNULL
        )
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo_dir, check=True, capture_output=True, text=True
        ).stdout.strip()
        shutil.rmtree(repo_dir / ".selfheal")
        for job in jobs:
            results.append(run_tests(repo_dir, job["command"], workdir))
    for job, (code, _) in zip(jobs[:-1], results):
        if code != 0:
            raise SystemExit(f"make_logs: {name}: job {job['name']} should pass, exited {code}")
    code, test_output = results[-1]
    if code == 0:
        raise SystemExit(f"make_logs: {name}: the broken state passes its tests")

    logs = sample / "logs"
    if logs.exists():
        shutil.rmtree(logs)
    run_dir = logs / ci["run_id"]
    created = dt.datetime.fromisoformat(ci["created_at"].replace("Z", "+00:00"))
    rng = random.Random(int(ci["run_id"]))
    for number, (job, (job_code, output)) in enumerate(zip(jobs, results)):
        # Jobs run side by side on separate runners, each starting a few seconds after the push.
        clock = Clock(created + dt.timedelta(seconds=rng.uniform(3, 9)), rng)
        steps = job_steps(
            clock, rng, job, ci["repository"], workdir, sha, job is main_job, output, job_code
        )
        job_dir = run_dir / job["name"]
        job_dir.mkdir(parents=True)
        whole: list[str] = []
        for file_name, lines in steps:
            # A blank output line still carries its timestamp and the space after it.
            text = "".join(f"{ts} {line}\n" for ts, line in lines)
            (job_dir / file_name).write_text(text, encoding="utf-8")
            whole.append(text)
        (run_dir / f"{number}_{job['name']}.txt").write_text("".join(whole), encoding="utf-8")
    run = {"id": ci["run_id"], "head_branch": "main", "workflow": "CI", "created_at": ci["created_at"]}
    (run_dir / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    names = ", ".join(repr(j["name"]) for j in jobs)
    print(f"{name}: run {ci['run_id']}, jobs {names}, exit code {code}, {len(test_output)} lines of test output")


def main(argv: list[str]) -> int:
    names = argv[1:] or sorted(p.parent.name for p in SAMPLES.glob("*/sample.json"))
    for name in names:
        make(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
