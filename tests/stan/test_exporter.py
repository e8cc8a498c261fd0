"""prometheus-nats-exporter v0.16.0 (the last release with STAN metrics) against the FT group.

Runs only when an exporter binary is available: NSFT_EXPORTER_BIN, or
BIN_DIR/prometheus-nats-exporter.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.lib import procs
from tests.lib.paths import BIN_DIR
from tests.lib.stan import http_get

pytestmark = pytest.mark.stan

EXPORTER_VERSION = "0.16.0"
SKIP_REASON = (
    "prometheus-nats-exporter v0.16.0 is not available here: the Go module proxy answers 403 'not available' "
    "for github.com/nats-io/prometheus-nats-exporter (every version); set NSFT_EXPORTER_BIN or put the binary "
    "at BIN_DIR/prometheus-nats-exporter to run this test (from its v0.16.0 source: "
    "go build -ldflags '-X main.version=0.16.0' .)"
)
ACTIVE = re.compile(r'^nss_server_active\{server_id="([^"]+)"\} (\S+)$', re.M)


def exporter_binary() -> Path | None:
    candidate = os.environ.get("NSFT_EXPORTER_BIN") or str(BIN_DIR / "prometheus-nats-exporter")
    return Path(candidate) if os.access(candidate, os.X_OK) else None


@pytest.fixture
def exporter_bin() -> Path:
    path = exporter_binary()
    if path is None:
        pytest.skip(SKIP_REASON)
    out = subprocess.run([str(path), "-version"], capture_output=True, text=True, timeout=10, check=False)
    # A plain source build prints 0.0.0: the release sets the version with -ldflags "-X main.version=...".
    assert EXPORTER_VERSION in out.stdout + out.stderr, (
        f"expected exporter v{EXPORTER_VERSION} (from source: go build -ldflags '-X main.version={EXPORTER_VERSION}'): "
        f"{out.stdout}{out.stderr}"
    )
    return path


def test_exporter_shows_nss_server_active_1_on_exactly_one_server(exporter_bin, stan_cluster, tmp_path):
    exporters = []
    try:
        # One exporter per server, as the exporter's own guidance (and a sidecar) has it.
        for server in stan_cluster.servers:
            port = procs.free_port()
            proc = procs.start(
                [str(exporter_bin), "-serverz", "-channelz", "-addr", "127.0.0.1", "-port", str(port),
                 f"{server.name},{server.monitor_url}"],
                tmp_path / f"exporter-{server.name}.log",
            )
            exporters.append((server, port, proc))
        for _server, port, proc in exporters:
            procs.wait_for_port(port, timeout=30, proc=proc)

        def scrape() -> dict[str, float]:
            values = {}
            for _server, port, _proc in exporters:
                _status, body = http_get(f"http://127.0.0.1:{port}/metrics", timeout=5)
                for server_id, value in ACTIVE.findall(body.decode()):
                    values[server_id] = float(value)
            return values

        active = stan_cluster.active()
        values = scrape()
        assert sorted(values) == sorted(s.name for s in stan_cluster.servers), values
        assert list(values.values()).count(1.0) == 1 and values[active.name] == 1.0, values

        # After a failover the metric follows the new active server.
        active.kill()
        stan_cluster.wait_for(lambda st: "FT_ACTIVE" in st.values(), timeout=30, what="a new FT_ACTIVE")
        new_active = stan_cluster.active()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            values = {k: v for k, v in scrape().items() if k != active.name}
            if values.get(new_active.name) == 1.0:
                break
            time.sleep(0.5)
        assert values[new_active.name] == 1.0 and list(values.values()).count(1.0) == 1, values
    finally:
        for _server, _port, proc in exporters:
            procs.stop(proc.pid)
