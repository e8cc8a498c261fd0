"""Run N real nats-streaming-server processes in one FT group from the `stan` role's stan.conf.

The config is rendered by Ansible itself (ansible.builtin.template) from
roles/stan/templates/stan.conf.j2 with roles/stan/defaults/main.yml plus overrides that place
every server on 127.0.0.1 with its own free ports, one shared store directory and an
embedded NATS cluster routed over 127.0.0.1.

    cluster = StanCluster(workdir, size=3)
    cluster.start()                    # renders, starts, waits for one FT_ACTIVE
    cluster.active().kill()            # SIGKILL
    cluster.stop()                     # stops every process this object started

`python -m tests.lib.stan --workdir DIR` starts a cluster by hand and keeps it up for a bounded
time; the demo (tests/localenv/demo.py) uses StanCluster directly.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from . import procs
from .ansible_runner import run_playbook
from .paths import BIN_DIR, REPO

STAN_ROLE = REPO / "roles" / "stan"
SERVER_BINARY = "nats-streaming-server"

RENDER_PLAYBOOK = """---
- name: Render stan.conf from the stan role for local servers
  hosts: localhost
  gather_facts: false
  vars_files:
    - "{defaults}"
  tasks:
    - name: Render stan.conf for each server
      ansible.builtin.template:
        src: "{template}"
        dest: "{{{{ item.config }}}}"
        mode: "0644"
      vars:
        stan_client_port: "{{{{ item.client_port }}}}"
        stan_cluster_port: "{{{{ item.cluster_port }}}}"
        stan_monitor_port: "{{{{ item.monitor_port }}}}"
      loop: "{{{{ stan_test_servers }}}}"
      loop_control:
        label: "{{{{ item.name }}}}"
"""


def binary(name: str) -> Path:
    """Path of a cached binary (tests/localenv/build.sh stan builds them into BIN_DIR)."""
    path = BIN_DIR / name
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"{path} is missing: run tests/localenv/build.sh stan (or set NSFT_CACHE_DIR)")
    return path


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - 127.0.0.1 only
        return resp.status, resp.read()


@dataclass
class StanServer:
    name: str
    client_port: int
    cluster_port: int
    monitor_port: int
    config: Path
    log: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait: bool = True, timeout: float = 30.0) -> None:
        if self.running():
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        env = {**os.environ, "CLUSTER_ADVERTISE": f"127.0.0.1:{self.cluster_port}"}
        with open(self.log, "ab") as fh:
            fh.write(f"\n==== start {time.strftime('%H:%M:%S')} ====\n".encode())
        self.proc = procs.start([str(binary(SERVER_BINARY)), "-c", str(self.config)], self.log, env=env)
        if wait:
            procs.wait_for_port(self.monitor_port, timeout=timeout, proc=self.proc)

    def signal(self, sig: int) -> None:
        if self.proc is None:
            raise RuntimeError(f"{self.name} was not started")
        os.kill(self.proc.pid, sig)

    def kill(self) -> float:
        """SIGKILL the server; returns the monotonic time of the kill and reaps the process."""
        self.signal(signal.SIGKILL)
        t = time.monotonic()
        self.proc.wait(timeout=10)
        self.proc = None
        return t

    def pause(self) -> float:
        self.signal(signal.SIGSTOP)
        return time.monotonic()

    def resume(self) -> None:
        self.signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.kill(self.proc.pid, signal.SIGCONT)  # a paused server cannot act on SIGTERM
        except ProcessLookupError:
            pass
        procs.stop(self.proc.pid)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None

    def serverz(self, timeout: float = 2.0) -> dict:
        """/streaming/serverz as a dict; raises OSError when the server does not answer."""
        _status, body = http_get(f"{self.monitor_url}/streaming/serverz", timeout=timeout)
        return json.loads(body)

    def state(self, timeout: float = 2.0) -> str:
        """FT state, or 'UNREACHABLE' when the monitor endpoint does not answer in time."""
        try:
            return self.serverz(timeout=timeout)["state"]
        except (OSError, ValueError, urllib.error.URLError):
            return "UNREACHABLE"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class StanCluster:
    """N servers of one FT group: same cluster id, ft_group and store directory."""

    def __init__(
        self,
        workdir: Path,
        size: int = 3,
        cluster_id: str = "test-cluster",
        ft_group: str = "ft",
        store_dir: Path | None = None,
        overrides: dict | None = None,
        prefix: str = "stan",
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cluster_id = cluster_id
        self.ft_group = ft_group
        self.store_dir = Path(store_dir) if store_dir else self.workdir / "store"
        self.overrides = overrides or {}
        self.servers: list[StanServer] = []
        for i in range(size):
            name = f"{prefix}-{i}"
            self.servers.append(
                StanServer(
                    name=name,
                    client_port=procs.free_port(),
                    cluster_port=procs.free_port(),
                    monitor_port=procs.free_port(),
                    config=self.workdir / f"{name}.conf",
                    log=self.workdir / f"{name}.log",
                )
            )

    # -- configuration -------------------------------------------------------------
    def render(self) -> None:
        """Render every server's stan.conf from the role's template with real Ansible."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        playbook = self.workdir / "render-stan-conf.yml"
        playbook.write_text(
            RENDER_PLAYBOOK.format(
                defaults=STAN_ROLE / "defaults" / "main.yml", template=STAN_ROLE / "templates" / "stan.conf.j2"
            )
        )
        extra = {
            "stan_listen_host": "127.0.0.1",
            "stan_cluster_id": self.cluster_id,
            "stan_ft_group": self.ft_group,
            "stan_store_dir": str(self.store_dir),
            "stan_cluster_routes": [f"nats://127.0.0.1:{s.cluster_port}" for s in self.servers],
            **self.overrides,
            "stan_test_servers": [
                {
                    "name": s.name,
                    "config": str(s.config),
                    "client_port": s.client_port,
                    "cluster_port": s.cluster_port,
                    "monitor_port": s.monitor_port,
                }
                for s in self.servers
            ],
        }
        result = run_playbook(playbook, extra_vars=extra, timeout=300)
        if result.rc != 0:
            raise RuntimeError(f"rendering stan.conf failed (rc={result.rc}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")

    # -- processes -------------------------------------------------------------------
    def start(self, wait_active: bool = True, timeout: float = 30.0) -> None:
        if not all(s.config.exists() for s in self.servers):
            self.render()
        for server in self.servers:
            server.start(wait=False)
        for server in self.servers:
            procs.wait_for_port(server.monitor_port, timeout=timeout, proc=server.proc)
        if wait_active:
            self.wait_for(lambda states: sorted(states.values()) == ["FT_ACTIVE"] + ["FT_STANDBY"] * (len(states) - 1),
                          timeout=timeout, what="one FT_ACTIVE and the rest FT_STANDBY")

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def __enter__(self) -> StanCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- observation -----------------------------------------------------------------
    def states(self, timeout: float = 1.0, include_stopped: bool = False) -> dict[str, str]:
        """State of every running server (name -> FT state or UNREACHABLE)."""
        return {s.name: s.state(timeout) for s in self.servers if include_stopped or s.running()}

    def active(self, timeout: float = 1.0) -> StanServer | None:
        found = [s for s in self.servers if s.running() and s.state(timeout) == "FT_ACTIVE"]
        if len(found) > 1:
            raise AssertionError(f"more than one FT_ACTIVE server: {[s.name for s in found]}")
        return found[0] if found else None

    def standbys(self, timeout: float = 1.0) -> list[StanServer]:
        return [s for s in self.servers if s.running() and s.state(timeout) == "FT_STANDBY"]

    def server(self, name: str) -> StanServer:
        return next(s for s in self.servers if s.name == name)

    def wait_for(
        self, predicate: Callable[[dict[str, str]], bool], timeout: float = 30.0, interval: float = 0.1, what: str = ""
    ) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = self.states()
            if predicate(states):
                return states
            time.sleep(interval)
        raise TimeoutError(f"servers did not reach {what or 'the expected states'} within {timeout}s: {states}")

    def nats_urls(self, exclude: tuple[StanServer, ...] = ()) -> str:
        """Comma-separated client URLs of the running servers (what a STAN client takes)."""
        return ",".join(s.nats_url for s in self.servers if s.running() and s not in exclude)

    def monitor_urls(self) -> list[str]:
        return [s.monitor_url for s in self.servers]

    def logs(self) -> str:
        return "\n".join(f"----- {s.name} -----\n{s.log_text()[-4000:]}" for s in self.servers)


def render_defaults() -> dict:
    """The role's defaults, for callers that want to know what the template was fed."""
    return yaml.safe_load((STAN_ROLE / "defaults" / "main.yml").read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a local STAN FT group from the stan role's stan.conf.")
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--cluster-id", default="test-cluster")
    parser.add_argument("--duration", type=float, default=600, help="stop after this many seconds (bounded)")
    args = parser.parse_args(argv)
    cluster = StanCluster(args.workdir, size=args.servers, cluster_id=args.cluster_id)
    stop = {"now": False}

    def _handler(_sig, _frame):
        stop["now"] = True

    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
    try:
        cluster.start()
        print(json.dumps({
            "servers": [
                {"name": s.name, "pid": s.pid, "nats_url": s.nats_url, "monitor_url": s.monitor_url, "config": str(s.config)}
                for s in cluster.servers
            ],
            "store_dir": str(cluster.store_dir),
            "states": cluster.states(),
        }, indent=2), flush=True)
        deadline = time.monotonic() + args.duration
        while not stop["now"] and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
