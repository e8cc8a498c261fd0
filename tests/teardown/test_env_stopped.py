"""After `localenv.py down`: no process the environment started and no socket it opened remains."""

from __future__ import annotations

import json

import pytest

from tests.lib import procs
from tests.lib.paths import STATE_DIR


@pytest.fixture(scope="module")
def record() -> dict:
    path = STATE_DIR / "last-down.json"
    if not path.exists():
        pytest.fail("no record of a stopped environment (run `localenv.py down` first)")
    return json.loads(path.read_text())


def test_environment_state_removed():
    assert not (STATE_DIR / "env.json").exists()


def test_recorded_processes_exist(record):
    # moto + etcd + kube-apiserver + controller-manager + scheduler + kwok-controller
    assert len(record["pids"]) >= 6, record["pids"]


def test_no_started_process_left(record):
    alive = {name: pid for name, pid in record["pids"].items() if procs.pid_alive(pid)}
    assert alive == {}


def test_no_port_left_open(record):
    open_ports = [p for p in record["ports"].values() if procs.port_is_open(p)]
    assert open_ports == []
    assert record["sockets"] == []
