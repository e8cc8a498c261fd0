"""Run N real nats-server processes as one cluster from the `nats_jetstream` role's nats.conf.

The config is rendered by Ansible (ansible.builtin.template) from
roles/nats_jetstream/templates/nats.conf.j2 with the role's defaults and vars plus overrides
that put every server on 127.0.0.1 with its own free ports, its own store directory (JetStream
keeps one copy per server) and routes to the others over 127.0.0.1.

    cluster = NatsCluster(workdir, size=3)             # JetStream on
    cluster = NatsCluster(workdir, size=3, jetstream=False)   # plain NATS (STAN's external NATS)
    cluster.start()                                    # renders, starts, waits until healthy
    cluster.stop()                                     # stops every process this object started
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path

from . import procs
from .ansible_runner import run_playbook
from .paths import REPO
from .stan import binary, http_get

ROLE = REPO / "roles" / "nats_jetstream"
SERVER_BINARY = "nats-server"

RENDER_PLAYBOOK = """---
- name: Render nats.conf from the nats_jetstream role for local servers
  hosts: localhost
  gather_facts: false
  vars_files:
    - "{defaults}"
    - "{role_vars}"
  tasks:
    - name: Render nats.conf for each server
      ansible.builtin.template:
        src: "{template}"
        dest: "{{{{ item.config }}}}"
        mode: "0644"
      vars:
        nats_jetstream_client_port: "{{{{ item.client_port }}}}"
        nats_jetstream_cluster_port: "{{{{ item.cluster_port }}}}"
        nats_jetstream_monitor_port: "{{{{ item.monitor_port }}}}"
        nats_jetstream_store_dir: "{{{{ item.store_dir }}}}"
      loop: "{{{{ nats_test_servers }}}}"
      loop_control:
        label: "{{{{ item.name }}}}"
"""


@dataclass
class NatsServer:
    name: str
    client_port: int
    cluster_port: int
    monitor_port: int
    config: Path
    log: Path
    store_dir: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running():
            raise RuntimeError(f"{self.name} is already running (pid {self.proc.pid})")
        # SERVER_NAME is what the StatefulSet sets to the pod name.
        env = {**os.environ, "SERVER_NAME": self.name}
        self.proc = procs.start([str(binary(SERVER_BINARY)), "--config", str(self.config)], self.log, env=env)

    def kill(self) -> None:
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        procs.stop(self.proc.pid)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None

    def get_json(self, path: str, timeout: float = 2.0) -> dict:
        _status, body = http_get(f"{self.monitor_url}{path}", timeout=timeout)
        return json.loads(body)

    def healthy(self, path: str) -> bool:
        try:
            status, _body = http_get(f"{self.monitor_url}{path}", timeout=2.0)
            return status == 200
        except (OSError, urllib.error.URLError):
            return False

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class NatsCluster:
    """N nats-server processes of one cluster, rendered from the role's template."""

    def __init__(self, workdir: Path, size: int = 3, jetstream: bool = True, overrides: dict | None = None,
                 prefix: str = "nats") -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.jetstream = jetstream
        self.overrides = overrides or {}
        self.servers = [
            NatsServer(
                name=f"{prefix}-{i}",
                client_port=procs.free_port(),
                cluster_port=procs.free_port(),
                monitor_port=procs.free_port(),
                config=self.workdir / f"{prefix}-{i}.conf",
                log=self.workdir / f"{prefix}-{i}.log",
                store_dir=self.workdir / f"{prefix}-{i}-store",
            )
            for i in range(size)
        ]

    def render(self) -> None:
        playbook = self.workdir / "render-nats-conf.yml"
        playbook.write_text(RENDER_PLAYBOOK.format(
            defaults=ROLE / "defaults" / "main.yml", role_vars=ROLE / "vars" / "main.yml",
            template=ROLE / "templates" / "nats.conf.j2"))
        extra = {
            "nats_jetstream_listen_host": "127.0.0.1",
            "nats_jetstream_enabled": self.jetstream,
            "nats_jetstream_replicas": len(self.servers),
            "nats_jetstream_cluster_routes": [f"nats://127.0.0.1:{s.cluster_port}" for s in self.servers],
            **self.overrides,
            "nats_test_servers": [
                {"name": s.name, "config": str(s.config), "client_port": s.client_port,
                 "cluster_port": s.cluster_port, "monitor_port": s.monitor_port, "store_dir": str(s.store_dir)}
                for s in self.servers
            ],
        }
        result = run_playbook(playbook, extra_vars=extra, timeout=300)
        if result.rc != 0:
            raise RuntimeError(f"rendering nats.conf failed (rc={result.rc}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")

    def start(self, wait: bool = True, timeout: float = 60.0, only: list[int] | None = None) -> None:
        if not all(s.config.exists() for s in self.servers):
            self.render()
        chosen = [self.servers[i] for i in only] if only is not None else self.servers
        for server in chosen:
            server.start()
        for server in chosen:
            procs.wait_for_port(server.monitor_port, timeout=timeout, proc=server.proc)
        if wait:
            self.wait_healthy(chosen, timeout=timeout)

    def wait_healthy(self, servers: list[NatsServer] | None = None, timeout: float = 60.0) -> None:
        """Every server's /healthz answers 200; with JetStream, also a meta leader that every server
        knows and all peers current (what the role's probes and the migration's pre-flight ask)."""
        servers = servers or self.servers
        path = "/healthz?js-enabled-only=true" if self.jetstream else "/healthz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(s.healthy(path) for s in servers) and (not self.jetstream or self.meta_ready(servers)):
                return
            time.sleep(0.2)
        raise TimeoutError(f"NATS servers not healthy within {timeout}s:\n{self.logs()}")

    def meta_ready(self, servers: list[NatsServer]) -> bool:
        """One meta leader that every server names; in the leader's own view (the one whose peer
        list does not name the leader) every other peer is current."""
        try:
            metas = [s.get_json("/jsz").get("meta_cluster") or {} for s in servers]
        except (OSError, ValueError, urllib.error.URLError):
            return False
        leaders = {m.get("leader") for m in metas}
        if len(leaders) != 1 or not next(iter(leaders)):
            return False
        leader = leaders.pop()
        views = [m for m in metas if leader not in {r.get("name") for r in m.get("replicas") or []}]
        return any(len(v.get("replicas") or []) == len(self.servers) - 1
                   and all(r.get("current") for r in v["replicas"]) for v in views)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def __enter__(self) -> NatsCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def nats_urls(self) -> str:
        return ",".join(s.nats_url for s in self.servers if s.running())

    def monitor_urls(self) -> list[str]:
        return [s.monitor_url for s in self.servers]

    def logs(self) -> str:
        return "\n".join(f"----- {s.name} -----\n{s.log_text()[-3000:]}" for s in self.servers)
