"""The tests' stream publisher (tests/stan/stanclient `stream`), which the fault tests run in pods:
it logs exactly the publishes the server acknowledged, keeps publishing through a failover on one
connection, and stops (printing its summary) when asked over HTTP."""

from __future__ import annotations

import json
import time

import pytest

from tests.lib import procs
from tests.lib.stan import http_get

pytestmark = pytest.mark.stan


def status(port: int, path: str = "status") -> dict:
    code, body = http_get(f"http://127.0.0.1:{port}/{path}", timeout=30)
    assert code == 200
    return json.loads(body)


def wait_acked(port: int, at_least: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            acked = status(port)["acked"]
            if acked >= at_least:
                return acked
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"fewer than {at_least} acks after {timeout}s")


def test_stream_logs_every_acked_publish_through_a_failover_and_stops_on_request(stan_cluster, stanclient, tmp_path):
    cluster = stan_cluster
    port = procs.free_port()
    log = tmp_path / "stream.log"
    proc = procs.start([str(stanclient.path), "stream", "-s", cluster.nats_urls(), "-id", "streamer", "-subject", "s",
                        "-interval", "5ms", "-ack-wait", "2s", "-listen", f"127.0.0.1:{port}"], log)
    try:
        before = wait_acked(port, 50)
        killed = cluster.active()
        killed.kill()
        wait_acked(port, before + 100)
        summary = status(port, "stop")
        proc.wait(timeout=30)
    finally:
        procs.stop(proc.pid)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert lines[-1] == {"summary": summary}
    assert summary["stopped_by"] == "http" and proc.returncode == 0
    acked = [e["acked"] for e in lines if "acked" in e]
    failed = [e["failed"] for e in lines if "failed" in e]
    assert len(acked) == summary["acked"] and len(failed) == summary["failed"]
    assert sorted(acked + failed) == list(range(1, summary["published"] + 1)), "each number published once"
    assert summary["max_ack_gap_ms"] > 0

    got = stanclient.sub(cluster.nats_urls(), "reader", expect=summary["acked"], subject="s")
    numbers = [int(m["data"].removeprefix("msg-")) for m in got["msgs"]]
    assert set(acked) <= set(numbers), "an acknowledged message is missing"
    assert numbers == sorted(set(numbers)), "out of order or twice"
