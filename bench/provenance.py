"""Which code a benchmark measured, and whether it has changed since.

A results file records the commit it was measured on and the git tree hash of every measured
path (plus whether any of them had uncommitted changes). `changed_since` compares that record
with the checkout: a path whose tree hash differs is measured code that changed after the
figures were taken, so the figures may no longer describe it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

# Everything the figures depend on: what runs (playbooks, roles, modules), how it is measured
# (bench, the test libraries and the local environment) and the pinned Python packages.
MEASURED_PATHS = (
    "playbooks",
    "roles",
    "plugins",
    "meta/runtime.yml",
    "bench",
    "tests/lib",
    "tests/localenv",
    "tests/arm_standin",
    "tests/aws_noop_calls.py",
    "tests/stan/stanclient",
    "requirements.txt",
    "test-requirements.txt",
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def tree_hash(repo: Path, path: str, commit: str = "HEAD") -> str | None:
    """The object id of `path` at `commit` (None when it does not exist there)."""
    proc = subprocess.run(["git", "rev-parse", f"{commit}:{path}"], cwd=repo, capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def uncommitted(repo: Path, paths: tuple[str, ...] = MEASURED_PATHS) -> list[str]:
    """Measured files with changes not committed yet (modified, added or untracked)."""
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", *paths], cwd=repo,
                         capture_output=True, text=True, check=True).stdout
    return sorted(line[3:] for line in out.splitlines() if line.strip())


def snapshot(repo: Path, paths: tuple[str, ...] = MEASURED_PATHS) -> dict:
    """The record a results file keeps: commit, tree hash per measured path, uncommitted files."""
    return {
        "commit": _git(repo, "rev-parse", "HEAD"),
        "commit_date": _git(repo, "show", "-s", "--format=%cI", "HEAD"),
        "trees": {path: tree_hash(repo, path) for path in paths},
        "uncommitted": uncommitted(repo, paths),
    }


def changed_since(repo: Path, recorded: dict) -> list[str]:
    """Measured paths that differ from the record: tree hash changed, or uncommitted changes now."""
    changed = [path for path, tree in sorted(recorded.get("trees", {}).items()) if tree_hash(repo, path) != tree]
    changed += [f"{path} (uncommitted)" for path in uncommitted(repo, tuple(recorded.get("trees", {})))]
    if recorded.get("uncommitted"):
        changed.append("the measured checkout itself had uncommitted changes: " + ", ".join(recorded["uncommitted"]))
    return changed
