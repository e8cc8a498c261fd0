"""What the real nats-streaming-server makes of a rendered stan.conf (and nats-server of a nats.conf).

Views from the servers' own code (no NATS configuration parser of ours):

- ``parsed_options(text)``: the options the server would run with, from tests/roles/stanconf, a
  few lines of Go that call nats-streaming-server v0.25.6's own ``ConfigureOptions`` (what its
  ``main`` does with ``-sc FILE``) and print the result as JSON. It covers what no monitoring
  endpoint reports (file_options, connect_retries, the advertise address).
- ``parsed_nats_options(text)``: the same for nats-server v2.15.3 and the nats_jetstream role's
  nats.conf (tests/roles/natsopts, nats-server's own ``ConfigureOptions`` with ``-c FILE``).
- ``ConfServer``: the cached nats-streaming-server binary started with ``-sc FILE`` on 127.0.0.1
  (free ports), read through its monitoring endpoints (/varz, /connz, /streaming/serverz,
  /streaming/storez ...), stopped by the PID that started it.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.lib import procs
from tests.lib.gobuild import build_cached
from tests.lib.paths import BIN_DIR, REPO

STANCONF_SRC = REPO / "tests" / "roles" / "stanconf"
NATSOPTS_SRC = REPO / "tests" / "roles" / "natsopts"
# The pods set these variables, which the files refer to: stan.conf's $CLUSTER_ADVERTISE (the pod's
# DNS name) and nats.conf's $SERVER_NAME (the pod's name).
ADVERTISE = "stan-0.stan.default.svc:6222"
SERVER_NAME = "pod-name-from-env"


class ServerRefused(Exception):
    """The server would not start with this file; the message is the server's."""


@functools.cache
def _parsed(tool: str, flag: str, text: str) -> str:
    src, name = {"stanconf": (STANCONF_SRC, "stan.conf"), "natsopts": (NATSOPTS_SRC, "nats.conf")}[tool]
    with tempfile.TemporaryDirectory(prefix=f"{tool}-") as tmp:
        path = Path(tmp) / name
        path.write_text(text)
        proc = subprocess.run([str(build_cached(src, tool)), flag, str(path)], capture_output=True, text=True,
                              timeout=60, check=False,
                              env={**os.environ, "CLUSTER_ADVERTISE": ADVERTISE, "SERVER_NAME": SERVER_NAME})
    if proc.returncode != 0:
        raise ServerRefused(proc.stderr.strip())
    return proc.stdout


def parsed_options(text: str) -> dict:
    """{"streaming": server Options, "nats": listen/monitor/cluster settings} for this stan.conf."""
    return json.loads(_parsed("stanconf", "-sc", text))


def parsed_nats_options(text: str) -> dict:
    """nats-server's server name, listen/monitor/cluster/lame-duck and JetStream settings for this nats.conf."""
    return json.loads(_parsed("natsopts", "-c", text))


def get_json(url: str, timeout: float = 3.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - 127.0.0.1 only
        return json.loads(resp.read())


@dataclass
class ConfServer:
    """One nats-streaming-server process on a stan.conf. ``flags`` come after ``-sc FILE`` and so
    override the file (the server's rule), e.g. to keep a file with the default ports on 127.0.0.1."""

    conf: Path
    monitor_port: int
    log: Path
    flags: list[str] = field(default_factory=list)
    serverz: dict = field(default_factory=dict)  # as read when it became FT_ACTIVE
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> ConfServer:
        binary = BIN_DIR / "nats-streaming-server"
        if not os.access(binary, os.X_OK):
            raise FileNotFoundError(f"{binary} is missing: run tests/localenv/build.sh stan")
        self.proc = procs.start([str(binary), "-sc", str(self.conf), *self.flags], self.log,
                                env={**os.environ, "CLUSTER_ADVERTISE": ADVERTISE})
        return self

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc.pid)
            self.proc = None

    def get(self, path: str) -> dict:
        return get_json(f"http://127.0.0.1:{self.monitor_port}{path}")

    def wait_active(self, timeout: float = 30.0) -> dict:
        """serverz once the server is FT_ACTIVE (an FT server starts as standby and takes the store
        lock after about one missed heartbeat interval)."""
        deadline = time.monotonic() + timeout
        last: object = "no answer"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerRefused(self.log.read_text(errors="replace")[-2000:])
            try:
                serverz = self.get("/streaming/serverz")
                if serverz.get("state") == "FT_ACTIVE":
                    return serverz
                last = serverz.get("state")
            except (OSError, ValueError, urllib.error.URLError) as exc:
                last = exc
            time.sleep(0.1)
        raise TimeoutError(f"{self.conf.name}: not FT_ACTIVE after {timeout}s ({last}):\n"
                           f"{self.log.read_text(errors='replace')[-2000:]}")
