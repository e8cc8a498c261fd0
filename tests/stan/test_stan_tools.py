"""The stan.go v0.10.4 example tools (what nats-box ships) work against the role's config."""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from tests.lib import procs

pytestmark = pytest.mark.stan

RECEIVED = re.compile(r'\[#(\d+)\] Received: sequence:(\d+) subject:"([^"]*)" data:"([^"]*)"')


def test_stan_pub_and_stan_sub_round_trip_after_failover(stan_cluster, stan_binaries, tmp_path):
    cluster = stan_cluster
    pub = str(stan_binaries["stan-pub"])
    for k in (1, 2, 3):
        out = subprocess.run([pub, "-s", cluster.nats_urls(), "-c", "test-cluster", "-id", f"tool-pub-{k}",
                              "tools", f"hello-{k}"], capture_output=True, text=True, timeout=30, check=False)
        assert out.returncode == 0, out.stderr
        assert "Published [tools]" in out.stdout + out.stderr

    cluster.active().kill()
    cluster.wait_for(lambda st: "FT_ACTIVE" in st.values(), timeout=30, what="a new FT_ACTIVE")
    out = subprocess.run([pub, "-s", cluster.nats_urls(), "-c", "test-cluster", "-id", "tool-pub-4", "tools", "hello-4"],
                         capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr

    log = tmp_path / "stan-sub.log"
    sub = procs.start([str(stan_binaries["stan-sub"]), "-s", cluster.nats_urls(), "-c", "test-cluster",
                       "-id", "tool-sub", "-all", "tools"], log)
    try:
        deadline = time.monotonic() + 20
        received = []
        while time.monotonic() < deadline and len(received) < 4:
            received = RECEIVED.findall(log.read_text(errors="replace"))
            time.sleep(0.1)
    finally:
        procs.stop(sub.pid)
    assert [(int(seq), data) for _n, seq, _subj, data in received] == [(k, f"hello-{k}") for k in (1, 2, 3, 4)], (
        log.read_text()
    )
