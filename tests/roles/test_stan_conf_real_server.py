"""Every variant of the stan role's stan.conf, loaded into the real nats-streaming-server.

Each variant is rendered by the role itself (render only), then
- read by the server's own option parser (tests/roles/stanconf: what `-sc FILE` gives the server),
- run with `nats-streaming-server -sc FILE` on 127.0.0.1 with free ports and read back through the
  monitoring endpoints: /varz and /routez of the embedded NATS server, /streaming/serverz,
  /streaming/storez, and /connz of the NATS server an external-NATS variant connects to.
The server decides what the file means; nothing here parses stan.conf.
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.lib import procs
from tests.lib.paths import BIN_DIR

from .realserver import ADVERTISE, ConfServer, parsed_options
from .rendering import render_cases

GIB, MIB = 1024**3, 1024**2
SECOND = 1_000_000_000  # durations are nanoseconds in the server's JSON


def ports(n: int) -> list[int]:
    found: set[int] = set()
    while len(found) < n:
        found.add(procs.free_port())
    return sorted(found)


def listen(client: int, cluster: int, monitor: int) -> dict:
    return {"stan_listen_host": "127.0.0.1", "stan_client_port": client, "stan_cluster_port": cluster,
            "stan_monitor_port": monitor}


def store(directory) -> dict:
    """The store directory (below the data mount, as the role requires)."""
    return {"stan_data_mount": str(directory.parent), "stan_store_dir": str(directory)}


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    """{name: {"conf": rendered text, "ports": {...}, "dir": store dir}}, rendered in one Ansible run."""
    root = tmp_path_factory.mktemp("stanconf")
    p = dict(zip(["d_client", "d_cluster", "d_monitor", "n_client", "n_cluster", "n_monitor", "r_client",
                  "r_cluster", "r_monitor", "l_client", "l_cluster", "l_monitor", "f_client", "f_cluster",
                  "f_monitor", "x_monitor"], ports(16), strict=True))
    dirs = {name: root / name / "store"
            for name in ("defaults", "named", "pod_routes", "routes", "limits", "files", "external")}
    cases = {
        # Exactly the role's defaults: every interface, ports 4222/6222/8222, store under /data.
        "defaults": ("stan", {}),
        # Listen address, ports, ids of the user's choosing (routed to itself: see servers()).
        "named": ("stan", {
            **listen(p["n_client"], p["n_cluster"], p["n_monitor"]),
            "stan_cluster_routes": [f"nats://127.0.0.1:{p['n_cluster']}"],
            "stan_cluster_id": "orders", "stan_ft_group": "orders-ft",
            **store(dirs["named"]), "stan_cluster_connect_retries": 3,
        }),
        # Route names follow the StatefulSet's name, replicas and cluster port (read, not run).
        "pod_routes": ("stan", {"stan_name": "events", "stan_replicas": 5, "stan_cluster_port": 7244}),
        # An explicit route list instead of the per-pod names: here the "named" server's cluster port.
        "routes": ("stan", {
            **listen(p["r_client"], p["r_cluster"], p["r_monitor"]),
            "stan_cluster_routes": [f"nats://127.0.0.1:{p['n_cluster']}"],
            "stan_cluster_id": "routed", **store(dirs["routes"]),
        }),
        "limits": ("stan", {
            **listen(p["l_client"], p["l_cluster"], p["l_monitor"]),
            "stan_cluster_routes": [f"nats://127.0.0.1:{p['l_cluster']}"],
            **store(dirs["limits"]),
            "stan_store_limits": {"max_channels": 50, "max_msgs": 100000, "max_bytes": "1gb", "max_age": "72h",
                                  "max_subs": 10, "max_inactivity": "30m"},
            "stan_channel_limits": {"orders.>": {"max_age": "24h", "max_msgs": 1000000},
                                    "audit": {"max_bytes": "10mb", "max_subs": 2, "max_inactivity": "0s"}},
        }),
        "files": ("stan", {
            **listen(p["f_client"], p["f_cluster"], p["f_monitor"]),
            "stan_cluster_routes": [f"nats://127.0.0.1:{p['f_cluster']}"],
            **store(dirs["files"]),
            "stan_file_options": {
                "buffer_size": "1mb", "compact": False, "compact_frag": 40, "compact_interval": 600,
                "compact_min_size": "2mb", "crc": False, "sync_on_flush": False, "slice_max_msgs": 2,
                "slice_max_bytes": "64mb", "slice_max_age": "2h", "file_descriptors_limit": 100,
                "parallel_recovery": 4, "read_buffer_size": "512kb", "auto_sync": "30s",
            },
        }),
        # STAN on an external NATS server: here the embedded NATS of the "named" server.
        "external": ("stan", {
            "stan_listen_host": "127.0.0.1", "stan_monitor_port": p["x_monitor"],
            "stan_nats_url": f"nats://127.0.0.1:{p['n_client']}", "stan_cluster_id": "external",
            "stan_ft_group": "external-ft", **store(dirs["external"]),
        }),
    }
    rendered, play = render_cases(cases, root / "render")
    failed = {name: r for name, r in rendered.items() if r["failed"]}
    assert not failed, f"rendering failed: {failed}\n{play.stderr[-2000:]}"
    out = {}
    for name, result in rendered.items():
        conf = next(o for o in result["manifests"] if o["kind"] == "ConfigMap")["data"]["stan.conf"]
        assert conf.strip() == result["conf"].strip()
        path = root / name / "stan.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(conf)
        out[name] = {"conf": conf, "path": path, "dir": dirs[name], "log": root / name / "server.log"}
    out["ports"] = p
    return out


@pytest.fixture(scope="module")
def servers(variants):
    """A real server per variant, each FT_ACTIVE; the external one after the NATS it connects to."""
    p = variants["ports"]
    # Flags after -sc override the file (the server's rule). The defaults listen on every interface
    # at fixed ports with the store under /data, and route to per-pod names (stan-0.stan ...) that
    # would be looked up in DNS here: flags keep that server on 127.0.0.1, routed to itself; its
    # file's routes are checked through the server's parser. The other variants run on their file alone.
    flags = {
        "defaults": ["-a", "127.0.0.1", "-p", str(p["d_client"]), "-m", str(p["d_monitor"]),
                     "-cluster", f"nats://127.0.0.1:{p['d_cluster']}", "-routes", f"nats://127.0.0.1:{p['d_cluster']}",
                     "-dir", str(variants["defaults"]["dir"])],
    }
    monitor = {"defaults": p["d_monitor"], "named": p["n_monitor"], "routes": p["r_monitor"],
               "limits": p["l_monitor"], "files": p["f_monitor"], "external": p["x_monitor"]}
    started: dict[str, ConfServer] = {}
    try:
        for group in (("defaults", "named", "routes", "limits", "files"), ("external",)):
            for name in group:
                v = variants[name]
                v["dir"].mkdir(parents=True, exist_ok=True)
                started[name] = ConfServer(v["path"], monitor[name], v["log"], flags.get(name, [])).start()
            for name in group:
                started[name].serverz = started[name].wait_active()
        yield started
    finally:
        for server in started.values():
            server.stop()


def test_defaults_give_the_guides_store_limits_ft_group_and_one_route_per_pod(variants, servers):
    opts = parsed_options(variants["defaults"]["conf"])
    stan, nats = opts["streaming"], opts["nats"]
    assert (stan["ID"], stan["StoreType"], stan["FilestoreDir"]) == ("test-cluster", "FILE", "/data/stan/store")
    assert stan["FTGroupName"] == "test-cluster" and stan["NATSServerURL"] == ""
    assert (nats["host"], nats["port"], nats["http_port"], nats["cluster"]["port"]) == ("", 4222, 8222, 6222)
    assert nats["cluster"]["routes"] == [f"nats://stan-{i}.stan:6222" for i in range(3)]
    assert nats["cluster"]["advertise"] == ADVERTISE and nats["cluster"]["connect_retries"] == 10

    server = servers["defaults"]
    assert server.serverz["cluster_id"] == "test-cluster" and server.serverz["state"] == "FT_ACTIVE"
    storez = server.get("/streaming/storez")
    assert storez["type"] == "FILE"
    assert storez["limits"] == {"max_channels": 10, "max_msgs": 0, "max_bytes": 256 * GIB, "max_age": 3600 * SECOND,
                                "max_subscriptions": 128, "max_inactivity": 0}
    # The FT lock and the server's state file are in the store directory.
    assert {".rootdir.lck", "server.dat"} <= {f.name for f in variants["defaults"]["dir"].iterdir()}


def test_listen_host_ports_and_ids_reach_the_embedded_nats_server(variants, servers):
    p = variants["ports"]
    varz = servers["named"].get("/varz")
    assert (varz["host"], varz["port"]) == ("127.0.0.1", p["n_client"])
    assert (varz["http_host"], varz["http_port"]) == ("127.0.0.1", p["n_monitor"])
    assert (varz["cluster"]["addr"], varz["cluster"]["cluster_port"]) == ("127.0.0.1", p["n_cluster"])
    assert servers["named"].serverz["cluster_id"] == "orders"
    opts = parsed_options(variants["named"]["conf"])
    assert opts["streaming"]["FTGroupName"] == "orders-ft"
    assert opts["streaming"]["FilestoreDir"] == str(variants["named"]["dir"])
    assert opts["nats"]["cluster"]["connect_retries"] == 3
    assert (variants["named"]["dir"] / ".rootdir.lck").exists()


def test_route_names_follow_the_statefulset_name_replicas_and_cluster_port(variants):
    cluster = parsed_options(variants["pod_routes"]["conf"])["nats"]["cluster"]
    assert cluster["port"] == 7244
    assert cluster["routes"] == [f"nats://events-{i}.events:7244" for i in range(5)]


def test_explicit_routes_replace_the_per_pod_names_and_the_route_forms(variants, servers):
    p = variants["ports"]
    assert servers["routes"].get("/varz")["cluster"]["urls"] == [f"127.0.0.1:{p['n_cluster']}"]
    deadline = time.monotonic() + 20
    while (routez := servers["routes"].get("/routez"))["num_routes"] < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert routez["num_routes"] == 1, routez
    assert routez["routes"][0]["port"] == p["n_cluster"]


def test_store_and_channel_limits_are_the_limits_the_server_enforces(servers):
    limits = servers["limits"].get("/streaming/storez")["limits"]
    channels = limits.pop("channels")
    # Durations are strings in stan.conf: an unquoted 30m would be the integer 30000000 for NATS.
    assert limits == {"max_channels": 50, "max_msgs": 100000, "max_bytes": GIB, "max_age": 72 * 3600 * SECOND,
                      "max_subscriptions": 10, "max_inactivity": 1800 * SECOND}
    # A channel's own limits, the global ones for the rest (the server fills them in).
    assert channels == {
        "orders.>": {"max_msgs": 1000000, "max_bytes": GIB, "max_age": 24 * 3600 * SECOND, "max_subscriptions": 10,
                     "max_inactivity": 1800 * SECOND},
        "audit": {"max_msgs": 100000, "max_bytes": 10 * MIB, "max_age": 72 * 3600 * SECOND, "max_subscriptions": 2,
                  "max_inactivity": 0},
    }


def test_every_file_option_reaches_the_file_store(variants, servers):
    fso = parsed_options(variants["files"]["conf"])["streaming"]["FileStoreOpts"]
    assert fso == {
        "BufferSize": MIB, "CompactEnabled": False, "CompactInterval": 600, "CompactFragmentation": 40,
        "CompactMinFileSize": 2 * MIB, "DoCRC": False, "CRCPolynomial": fso["CRCPolynomial"], "DoSync": False,
        "SliceMaxMsgs": 2, "SliceMaxBytes": 64 * MIB, "SliceMaxAge": 2 * 3600 * SECOND, "SliceArchiveScript": "",
        "FileDescriptorsLimit": 100, "ParallelRecovery": 4, "TruncateUnexpectedEOF": False, "ReadBufferSize": 512 * 1024,
        "AutoSync": 30 * SECOND,
    }
    # What the running store does with one of them: two messages per slice file.
    url = f"nats://127.0.0.1:{variants['ports']['f_client']}"
    for k in range(1, 6):
        out = subprocess.run([str(BIN_DIR / "stan-pub"), "-s", url, "-c", "test-cluster", "-id", f"conf-pub-{k}",
                              "sliced", f"m{k}"], capture_output=True, text=True, timeout=30, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
    slices = sorted(f.name for f in (variants["files"]["dir"] / "sliced").glob("msgs.*.dat"))
    assert slices == ["msgs.1.dat", "msgs.2.dat", "msgs.3.dat"], slices


def test_external_nats_variant_connects_to_that_server_and_still_serves_monitoring(variants, servers):
    opts = parsed_options(variants["external"]["conf"])
    assert opts["streaming"]["NATSServerURL"] == f"nats://127.0.0.1:{variants['ports']['n_client']}"
    assert opts["nats"]["cluster"]["port"] == 0 and opts["nats"]["cluster"]["routes"] == []
    # The probes read /streaming/serverz on the monitor port, which the server serves without an
    # embedded NATS server too.
    assert servers["external"].serverz["cluster_id"] == "external"
    assert servers["external"].serverz["state"] == "FT_ACTIVE"
    names = {c.get("name") for c in servers["named"].get("/connz?limit=1024")["connections"]}
    assert {"_NSS-external-general", "_NSS-external-ft"} <= names, names
    assert not any(n.startswith("_NSS-external") for n in
                   (c.get("name") for c in servers["limits"].get("/connz?limit=1024")["connections"]))
