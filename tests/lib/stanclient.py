"""The tests' NATS Streaming client (tests/stan/stanclient, stan.go v0.10.4): build it, run it.

    path = build_stanclient()              # go build once per source version, into the cache
    client = StanClient(path)
    client.pub("nats://127.0.0.1:4222", "pub-1", n=1000, start=1)   # -> {"published", "acked", ...}
    client.sub("nats://127.0.0.1:4222", "sub-1", expect=1000)        # -> {"count", "msgs", ...}
    client.durable(urls, "worker", durable="d", expect=1000)          # -> {"count", "last_seq", ...}

The binary is built once per source version into the cache (tests/lib/gobuild.py).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .gobuild import build_cached, cached_path
from .paths import REPO

CLIENT_SRC = REPO / "tests" / "stan" / "stanclient"


def stanclient_path() -> Path:
    """Where the binary of the current client source lives (it may not be built yet)."""
    return cached_path(CLIENT_SRC, "stanclient")


def build_stanclient(timeout: float = 900) -> Path:
    """Build the client unless this source version is already in the cache; return its path."""
    return build_cached(CLIENT_SRC, "stanclient", timeout=timeout)


@dataclass
class StanClient:
    """Publishes numbered messages ("msg-<k>") and reads a channel from its first message."""

    path: Path
    cluster_id: str = "test-cluster"
    calls: list = field(default_factory=list)

    def _run(self, args: list[str], timeout: float) -> dict:
        self.calls.append(args)
        proc = subprocess.run([str(self.path), *args], capture_output=True, text=True, timeout=timeout, check=False)
        try:
            out = json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"stanclient {args[0]} printed no JSON (rc={proc.returncode}): {proc.stderr[-2000:]}") from exc
        out["rc"] = proc.returncode
        return out

    def pub(self, urls: str, client_id: str, n: int, start: int, subject: str = "failover",
            connect_wait: str = "5s", timeout: float = 60, size: int = 0, max_inflight: int | None = None) -> dict:
        """Publish n messages asynchronously on one connection; the result has published, acked,
        errors, elapsed_ms and publish_ms (first publish to last ack)."""
        args = ["pub", "-s", urls, "-c", self.cluster_id, "-id", client_id, "-subject", subject,
                "-n", str(n), "-start", str(start), "-connect-wait", connect_wait, "-timeout", f"{int(timeout)}s"]
        if size:
            args += ["-size", str(size)]
        if max_inflight is not None:
            args += ["-max-inflight", str(max_inflight)]
        return self._run(args, timeout + 30)

    def sub(self, urls: str, client_id: str, expect: int, subject: str = "failover", timeout: float = 60) -> dict:
        """Read the channel from its first message until `expect` messages arrived."""
        return self._run(["sub", "-s", urls, "-c", self.cluster_id, "-id", client_id, "-subject", subject,
                          "-expect", str(expect), "-timeout", f"{int(timeout)}s"], timeout + 30)

    def durable(self, urls: str, client_id: str, durable: str, expect: int, subject: str = "failover",
                qgroup: str = "", members: int = 1, timeout: float = 60, unacked: int = 0) -> dict:
        """Read `expect` messages from the first with a durable (queue) subscription, ack each (but
        the last `unacked`), and close without unsubscribing: the server keeps the durable at its
        position."""
        args = ["durable", "-s", urls, "-c", self.cluster_id, "-id", client_id, "-subject", subject,
                "-durable", durable, "-expect", str(expect), "-timeout", f"{int(timeout)}s", "-unacked", str(unacked)]
        if qgroup:
            args += ["-qgroup", qgroup, "-members", str(members)]
        return self._run(args, timeout + 30)
