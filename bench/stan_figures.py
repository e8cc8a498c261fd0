"""Figures 6-7: STAN failover time and publish throughput, with the stan role's rendered stan.conf.

Servers are real nats-streaming-server processes on 127.0.0.1 (tests/lib/stan.py renders
stan.conf with Ansible from roles/stan/templates/stan.conf.j2 and the role's defaults, plus
overrides that place every server on 127.0.0.1 with one shared store directory). The client is
the tests' Go client (tests/stan/stanclient, stan.go v0.10.4).
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from pathlib import Path

from tests.lib.stan import StanCluster, http_get, render_defaults
from tests.lib.stanclient import StanClient, build_stanclient
from tests.stan.helpers import wait_for_new_active

CLUSTER_ID = "bench"
FT_GROUP = "bench"
FAILOVER_BATCH = 1000  # acked messages published before each kill
# The seed guide's stan.conf (tests/roles/seed/stan.yaml, ConfigMap stan-config).
GUIDE_FILE_OPTIONS = {"buffer_size": "32mb", "sync_on_flush": False, "slice_max_bytes": "512mb", "parallel_recovery": 64}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def client() -> StanClient:
    return StanClient(build_stanclient(), cluster_id=CLUSTER_ID)


# -- 6. failover ------------------------------------------------------------------------------
def failover(workdir: Path, kills: int = 5, batch: int = FAILOVER_BATCH) -> dict:
    """`kills` times: publish `batch` acked messages, SIGKILL the active server, time until a
    standby reports FT_ACTIVE, restart the killed server (it must come back as FT_STANDBY).
    At the end read the channel from its first message and count what is missing."""
    stan = client()
    shutil.rmtree(workdir, ignore_errors=True)  # StanCluster keeps existing configs; start from nothing
    cluster = StanCluster(workdir, size=3, cluster_id=CLUSTER_ID, ft_group=FT_GROUP)
    rounds = []
    acked = 0
    try:
        cluster.start()
        for i in range(1, kills + 1):
            pub = stan.pub(cluster.nats_urls(), f"bench-pub-{i}", n=batch, start=acked + 1, subject="failover")
            if pub["rc"] != 0 or pub["acked"] != batch:
                raise RuntimeError(f"publishing before kill {i} failed: {pub}")
            acked += pub["acked"]
            victim = cluster.active()
            if victim is None:
                raise RuntimeError(f"no FT_ACTIVE server before kill {i}: {cluster.states()}")
            t_kill = victim.kill()
            seconds, new_active, polls = wait_for_new_active(cluster, t_kill)
            t_restart = time.monotonic()
            victim.start()
            cluster.wait_for(lambda states, name=victim.name: states.get(name) == "FT_STANDBY", timeout=30,
                             what=f"{victim.name} back as FT_STANDBY")
            wait_for_routes(cluster)
            rounds.append({"killed": victim.name, "new_active": new_active.name, "seconds": round(seconds, 3), "polls": polls,
                           "rejoined": round(time.monotonic() - t_restart, 2)})
            log(f"   kill {i}: {victim.name} -> {new_active.name} FT_ACTIVE after {seconds:.2f}s")
        sub = stan.sub(cluster.nats_urls(), "bench-sub", expect=acked, subject="failover", timeout=120)
    finally:
        cluster.stop()
        shutil.rmtree(cluster.store_dir, ignore_errors=True)
    received = [m["data"] for m in sub["msgs"]]
    expected = {f"msg-{k}" for k in range(1, acked + 1)}
    lost = len(expected - set(received))
    seconds = [r["seconds"] for r in rounds]
    return {
        "rounds": rounds,
        "median": statistics.median(seconds),
        "max": max(seconds),
        "min": min(seconds),
        "acked": acked,
        "received": len(received),
        "lost": lost,
        "duplicates": len(received) - len(set(received)),
        "in_order": [m["seq"] for m in sub["msgs"]] == list(range(1, len(received) + 1)),
        "sub_errors": sub["errors"],
        "file_options": render_defaults()["stan_file_options"],
    }


def wait_for_routes(cluster: StanCluster, timeout: float = 30.0) -> None:
    """Wait until every running server has a route to every other one (/routez). A restarted
    server answers serverz as FT_STANDBY about a second before its routes are up; a client that
    connects to it meanwhile gets no answer to its STAN connect request."""
    want = len(cluster.servers) - 1
    deadline = time.monotonic() + timeout
    routes: list = []
    while time.monotonic() < deadline:
        try:
            routes = [json.loads(http_get(f"{s.monitor_url}/routez")[1])["num_routes"] for s in cluster.servers if s.running()]
        except (OSError, ValueError, KeyError):
            routes = []
        if routes and all(n >= want for n in routes):
            return
        time.sleep(0.1)
    raise TimeoutError(f"routes between the servers not all up within {timeout}s: {routes}")


# -- 7. throughput ----------------------------------------------------------------------------
def throughput_configs() -> list[dict]:
    role = dict(render_defaults()["stan_file_options"])
    return [
        {
            "key": "role",
            "label": "role defaults",
            "file_options": role,
            "durability": (
                "ack after the batch is written and fsync'd: an acked message survives a process kill and a node or "
                "power loss (on NFS/EFS, fsync is a COMMIT to the file server)"
            ),
        },
        {
            "key": "guide",
            "label": "guide's options",
            "file_options": GUIDE_FILE_OPTIONS,
            "durability": (
                "ack after write() into the OS page cache, no fsync (the store syncs every auto_sync, default 1m): "
                "survives a process kill (what failover handles) but a node crash or a lost NFS client can drop "
                "up to about a minute of acked messages"
            ),
        },
        {
            "key": "server",
            "label": "server defaults + sync_on_flush",
            "file_options": {"sync_on_flush": True},
            "durability": (
                "same guarantee as the role defaults; 2 MB write buffer, 64 MB slices and serial recovery "
                "(parallel_recovery 1): more slice files, slower store recovery (so slower failover) with many channels"
            ),
        },
    ]


def throughput(workdir: Path, size: int = 1024, msgs: int = 50000, inflight: int = 1024, sync_msgs: int = 5000,
               repeats: int = 3) -> list[dict]:
    """For each file_options set: a 3-server FT group, one publisher connected to the active
    server; `repeats` runs of `msgs` messages with up to `inflight` unacked (pipelined) and of
    `sync_msgs` messages with 1 in flight (each publish waits for its ack); a fresh channel
    per run; msgs/s = acked / (first publish .. last ack)."""
    stan = client()
    results = []
    for config in throughput_configs():
        cdir = workdir / config["key"]
        shutil.rmtree(cdir, ignore_errors=True)
        cluster = StanCluster(cdir, size=3, cluster_id=CLUSTER_ID, ft_group=FT_GROUP,
                              overrides={"stan_file_options": config["file_options"]})
        modes = {"pipelined": [], "one_at_a_time": []}
        try:
            cluster.start()
            active = cluster.active()
            rendered = cluster.servers[0].config.read_text(encoding="utf-8")
            for rep in range(1, repeats + 1):
                for mode, n, window in (("pipelined", msgs, inflight), ("one_at_a_time", sync_msgs, 1)):
                    pub = stan.pub(active.nats_url, f"tput-{mode}-{rep}".replace("_", "-"), n=n, start=1,
                                   subject=f"tput.{mode}.{rep}", size=size, max_inflight=window, timeout=300)
                    if pub["rc"] != 0 or pub["acked"] != n:
                        raise RuntimeError(f"throughput run failed ({config['key']}, {mode}): {pub}")
                    modes[mode].append(n / (max(pub["publish_ms"], 1) / 1000.0))
        finally:
            cluster.stop()
            shutil.rmtree(cluster.store_dir, ignore_errors=True)
        summary = {mode: {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": v} for mode, v in modes.items()}
        log(f"   {config['label']}: pipelined {summary['pipelined']['median']:,.0f} msgs/s, "
            f"one at a time {summary['one_at_a_time']['median']:,.0f} msgs/s")
        results.append({**config, **summary, "rendered_file_options": file_options_block(rendered)})
    return results


def file_options_block(conf: str) -> str:
    """The `file_options { ... }` block of a rendered stan.conf, on one line."""
    start = conf.find("file_options {")
    if start < 0:
        return ""
    end = conf.find("}", start)
    body = conf[start + len("file_options {"):end]
    return ", ".join(line.strip() for line in body.splitlines() if line.strip())
