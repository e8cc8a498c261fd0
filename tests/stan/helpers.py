"""Assertions and measurements shared by the FT tests."""

from __future__ import annotations

import time

from tests.lib.stan import StanCluster, StanServer

POLL = 0.05  # seconds between two serverz reads while measuring a failover


def assert_channel_complete(sub: dict, total: int) -> None:
    """Every message 1..total arrived exactly once, in order, with sequence == message number."""
    assert sub["errors"] == [], sub["errors"]
    assert sub["count"] == total, f"expected {total} messages, got {sub['count']}"
    seqs = [m["seq"] for m in sub["msgs"]]
    assert seqs == list(range(1, total + 1)), f"sequence gap or disorder near {first_mismatch(seqs)}"
    data = [m["data"] for m in sub["msgs"]]
    assert data == [f"msg-{k}" for k in range(1, total + 1)], "payloads are not msg-1..msg-N in order"
    assert not any(m["redelivered"] for m in sub["msgs"])


def first_mismatch(seqs: list[int]) -> int | None:
    for i, seq in enumerate(seqs, start=1):
        if seq != i:
            return i
    return None


def assert_published(pub: dict, n: int) -> None:
    assert pub["rc"] == 0 and pub["errors"] == [], pub
    assert pub["published"] == n and pub["acked"] == n, pub


def wait_for_new_active(cluster: StanCluster, t0: float, timeout: float = 30.0) -> tuple[float, StanServer, int]:
    """Poll every running server's serverz every 50 ms until one reports FT_ACTIVE.

    Returns (seconds since t0, the new active server, number of polls).
    """
    deadline = t0 + timeout
    polls = 0
    while time.monotonic() < deadline:
        polls += 1
        for server in cluster.servers:
            if server.running() and server.state(timeout=0.5) == "FT_ACTIVE":
                return time.monotonic() - t0, server, polls
        time.sleep(POLL)
    raise AssertionError(f"no standby became FT_ACTIVE within {timeout}s: {cluster.states()}\n{cluster.logs()}")
