"""After `localenv.py down`: nothing of the environment remains but the caches.

Checked from the record `down` leaves (what had been started) against the live system: no
process, no network namespace, no mount, no cgroup, no directory of the private engine, no
cluster container, no state file; only $NSFT_CACHE_DIR keeps the binaries and images.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.lib import procs
from tests.lib.paths import CACHE_DIR, STATE_DIR
from tests.localenv import engine as engines


@pytest.fixture(scope="module")
def record() -> dict:
    path = STATE_DIR / "last-down.json"
    if not path.exists():
        pytest.fail("no record of a stopped environment (run `localenv.py down` first)")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def started(record) -> dict:
    return record["state"]


def test_down_reported_nothing_left(record):
    assert record["left"] == []


def test_state_files_removed():
    for name in ("env.json", "env.sh", "kubeconfig", "kind-config.yaml", "shared", "audit", "docker"):
        assert not (STATE_DIR / name).exists(), name


def test_no_started_process_left(started):
    pids = {**started.get("pids", {}), **started.get("engine", {}).get("pids", {})}
    assert pids, "the record names no process: nothing was checked"
    assert {name: pid for name, pid in pids.items() if procs.pid_alive(pid)} == {}


def test_no_namespace_mount_cgroup_or_directory_of_a_private_engine_left(started):
    engine = started.get("engine", {})
    if not engine.get("private"):
        pytest.skip("the environment used the user's Docker engine; it made no namespace of its own")
    paths = engines.PrivatePaths(STATE_DIR)
    assert engine["netns"] == paths.ident
    assert not Path(f"/run/netns/{paths.ident}").exists()
    assert engines.netns_pids(paths.ident) == []
    assert engines.mounts_under(STATE_DIR, paths.run_dir) == []
    assert engines.cgroup_dirs(paths.ident) == []
    assert not paths.run_dir.exists() and not paths.data_dir.exists()


def test_no_process_left_in_the_environments_cgroups_or_naming_its_state():
    """No kubelet, shim, etcd or API server of a kind node (they run in the engine's cgroup parent),
    and no process started with a path of the state directory, is still running."""
    ident = engines.PrivatePaths(STATE_DIR).ident
    left = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or not procs.pid_alive(int(entry)):
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cgroup = Path(f"/proc/{entry}/cgroup").read_text()
        except OSError:
            continue
        if f"/{ident}" in cgroup or str(STATE_DIR) in cmd:
            left.append((entry, cmd[:120]))
    assert left == []


def test_caches_are_kept():
    assert (CACHE_DIR / "bin").is_dir()


def test_host_settings_the_environment_raised_are_restored(started):
    changed = started.get("restore_sysctls", {})
    assert {path: int(Path(path).read_text()) for path in changed} == changed
