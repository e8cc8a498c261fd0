"""The local environment: a real AWS emulator and a real Kubernetes control plane on 127.0.0.1.

    localenv.py build    build/cache the Go binaries (kube-apiserver & co, etcd, kwok, STAN)
    localenv.py up       start moto_server and a kwok cluster (binary runtime), 3 nodes in 3 zones
    localenv.py status   print what runs and where
    localenv.py down     stop everything `up` started, by PID, and check nothing is left
    localenv.py env      print shell exports (KUBECONFIG, AWS_*) for the running environment

State lives in $NSFT_STATE_DIR (default <repo>/.localenv): env.json, env.sh, kubeconfig, logs.
Binaries live in $NSFT_CACHE_DIR (default ~/.cache/nats_streaming_ft), built once per version.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.lib import procs  # noqa: E402
from tests.lib.moto import CREDENTIALS, start_moto  # noqa: E402
from tests.lib.paths import BIN_DIR, REPO, STATE_DIR  # noqa: E402

CLUSTER = "nsft"
ZONES = ("us-east-2a", "us-east-2b", "us-east-2c")
ENV_JSON = STATE_DIR / "env.json"
KWOK_WORKDIR = STATE_DIR / "kwok"


def log(msg: str) -> None:
    print(f"[localenv {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def versions() -> dict[str, str]:
    out = {}
    vfile = BIN_DIR / "versions.env"
    if vfile.exists():
        for line in vfile.read_text().splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                out[key] = value
    return out


def build(what: str = "all") -> None:
    subprocess.run(["bash", str(REPO / "tests" / "localenv" / "build.sh"), what], check=True)


def kwokctl_env() -> dict[str, str]:
    return {**os.environ, "KWOK_WORKDIR": str(KWOK_WORKDIR)}


def kwokctl(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN_DIR / "kwokctl"), "--name", CLUSTER, *args],
        env=kwokctl_env(), check=check, timeout=timeout, text=True, capture_output=True,
    )


AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
"""


def audit_log_path() -> Path:
    """The kube-apiserver audit log (one JSON event per request), used to count API requests."""
    return KWOK_WORKDIR / "clusters" / CLUSTER / "logs" / "audit.log"


def podnet_routes_path() -> Path:
    """The routes file of the pod network stand-in (tests/localenv/podnet.py)."""
    return STATE_DIR / "podnet-routes.json"


def podnet_socket_path() -> Path:
    """The pod network stand-in's Unix socket (short enough for sun_path)."""
    path = STATE_DIR / "podnet.sock"
    if len(str(path)) > 100:
        digest = hashlib.sha256(str(STATE_DIR).encode()).hexdigest()[:12]
        path = Path(tempfile.gettempdir()) / f"nsft-podnet-{os.getuid()}-{digest}.sock"
    return path


def start_podnet(log_path: Path) -> subprocess.Popen:
    """The pod network stand-in (a CONNECT proxy on a Unix socket) for kube-apiserver's cluster egress."""
    routes, sock = podnet_routes_path(), podnet_socket_path()
    routes.write_text("{}\n")
    sock.unlink(missing_ok=True)
    proc = procs.start([sys.executable, str(Path(__file__).with_name("podnet.py")), "--socket", str(sock),
                        "--routes", str(routes)], log_path)
    deadline = time.monotonic() + 20
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the pod network stand-in did not start; see {log_path}")
        time.sleep(0.05)
    return proc


EGRESS_SELECTOR = """apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
  - name: cluster
    connection:
      proxyProtocol: HTTPConnect
      transport:
        uds:
          udsName: {socket}
"""


def write_kwok_config(path: Path) -> None:
    v = versions()
    policy = path.with_name("audit-policy.yaml")
    policy.write_text(AUDIT_POLICY)
    egress = path.with_name("egress-selector.yaml")
    egress.write_text(EGRESS_SELECTOR.format(socket=podnet_socket_path()))
    kubectl = shutil.which("kubectl") or ""
    config = {
        "kind": "KwokctlConfiguration",
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "options": {
            "runtime": "binary",
            "bindAddress": "127.0.0.1",
            "kubeVersion": v.get("KUBE_VERSION", ""),
            "kubeApiserverPort": procs.free_port(),
            "kubeApiserverBinary": str(BIN_DIR / "kube-apiserver"),
            "kubeControllerManagerBinary": str(BIN_DIR / "kube-controller-manager"),
            "kubeSchedulerBinary": str(BIN_DIR / "kube-scheduler"),
            "kwokControllerBinary": str(BIN_DIR / "kwok"),
            "etcdBinary": str(BIN_DIR / "etcd"),
            "securePort": True,
            "kubeAuthorization": True,
            "kubeAdmission": True,
            "quietPull": True,
            "kubeAuditPolicy": str(policy),
            **({"kubectlBinary": kubectl} if kubectl else {}),
        },
        # kube-apiserver's "cluster" egress (pods/proxy and kubelet connections) goes through the
        # pod network stand-in (tests/localenv/podnet.py); etcd and the control plane stay direct.
        "componentsPatches": [{
            "name": "kube-apiserver",
            "extraArgs": [{"key": "egress-selector-config-file", "value": str(egress)}],
        }],
    }
    path.write_text(json.dumps(config, indent=2))


def node_manifest(i: int, zone: str) -> dict:
    name = f"kwok-node-{i}"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
                "type": "kwok",
                "topology.kubernetes.io/zone": zone,
                "topology.kubernetes.io/region": zone[:-1],
            },
        },
        "spec": {},
        "status": {
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
        },
    }


def create_nodes(kubeconfig: Path) -> None:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    for i, zone in enumerate(ZONES):
        body = node_manifest(i, zone)
        try:
            api.create_node(body)
        except client.ApiException as exc:
            if exc.status != 409:
                raise
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        nodes = api.list_node(label_selector="type=kwok").items
        ready = [
            n.metadata.name for n in nodes
            if any(c.type == "Ready" and c.status == "True" for c in (n.status.conditions or []))
        ]
        if len(ready) == len(ZONES):
            log(f"nodes ready: {', '.join(sorted(ready))}")
            return
        time.sleep(0.5)
    raise TimeoutError("kwok nodes did not become Ready within 60s")


def wait_readyz(kubeconfig: Path, timeout: float = 90) -> None:
    from kubernetes import config

    api = config.new_client_from_config(config_file=str(kubeconfig))
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            resp = api.call_api("/readyz", "GET", auth_settings=["BearerToken"],
                                _preload_content=False, _request_timeout=5)
            resp = resp[0] if isinstance(resp, tuple) else resp
            if resp.status == 200:
                return
        except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
            last = exc
        time.sleep(0.5)
    raise TimeoutError(f"kube-apiserver /readyz did not answer 200 within {timeout}s: {last}")


def pids_of_kwok() -> dict[str, int]:
    out = {}
    piddir = KWOK_WORKDIR / "clusters" / CLUSTER / "pids"
    for f in sorted(piddir.glob("*.pid")) if piddir.exists() else []:
        try:
            out[f.stem] = int(f.read_text().strip())
        except ValueError:
            pass
    return out


def listening_sockets_of(pids: list[int]) -> list[tuple[int, str]]:
    """(pid, local address) of every listening TCP socket owned by the given pids."""
    inodes: dict[str, int] = {}
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes[target[8:-1]] = pid
        except OSError:
            continue
    found = []
    for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] != "0A":  # LISTEN
                continue
            if parts[9] in inodes:
                found.append((inodes[parts[9]], decode_addr(parts[1], v6)))
    return found


def decode_addr(hexaddr: str, v6: bool) -> str:
    ip_hex, port_hex = hexaddr.split(":")
    port = int(port_hex, 16)
    if not v6:
        ip = ".".join(str(b) for b in reversed(bytes.fromhex(ip_hex)))
        return f"{ip}:{port}"
    raw = bytes.fromhex(ip_hex)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    import ipaddress

    return f"[{ipaddress.IPv6Address(words)}]:{port}"


def up(args: argparse.Namespace) -> None:
    t0 = time.monotonic()
    if ENV_JSON.exists():
        log(f"already up (state in {ENV_JSON}); run `down` first")
        print_env()
        return
    build("all")
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    logs = STATE_DIR / "logs"
    state: dict = {"started": time.time(), "pids": {}, "ports": {}}
    try:
        log("starting moto_server (AWS emulator)")
        moto = start_moto(logs / "moto.log", recording=STATE_DIR / "moto-recording.jsonl")
        state["pids"]["moto"] = moto.proc.pid
        state["ports"]["moto"] = moto.port
        state["moto_url"] = moto.url
        ENV_JSON.write_text(json.dumps(state, indent=2))  # so `down` can clean up a failed `up`

        log("starting the pod network stand-in (the API server's pod proxy reaches local processes)")
        podnet = start_podnet(logs / "podnet.log")
        state["pids"]["podnet"] = podnet.pid
        state["podnet_routes"] = str(podnet_routes_path())
        ENV_JSON.write_text(json.dumps(state, indent=2))

        log("creating the Kubernetes control plane (kwokctl, binary runtime)")
        cfg = STATE_DIR / "kwok.yaml"
        write_kwok_config(cfg)
        res = kwokctl("create", "cluster", "--config", str(cfg), "--wait", "2m", check=False, timeout=400)
        (logs / "kwokctl-create.log").write_text(res.stdout + res.stderr)
        if res.returncode != 0:
            raise RuntimeError(f"kwokctl create cluster failed:\n{res.stdout}\n{res.stderr}")
        kubeconfig_src = KWOK_WORKDIR / "clusters" / CLUSTER / "kubeconfig.yaml"
        kubeconfig = STATE_DIR / "kubeconfig"
        shutil.copy(kubeconfig_src, kubeconfig)
        kubeconfig.chmod(0o600)
        state["kubeconfig"] = str(kubeconfig)
        state["audit_log"] = str(audit_log_path())
        state["pids"].update({f"kwok:{k}": v for k, v in pids_of_kwok().items()})
        ENV_JSON.write_text(json.dumps(state, indent=2))
        wait_readyz(kubeconfig)
        log("kube-apiserver /readyz ok; adding 3 kwok nodes in 3 zones")
        create_nodes(kubeconfig)
        for pid, addr in listening_sockets_of(list(state["pids"].values())):
            name = next(n for n, p in state["pids"].items() if p == pid)
            state["ports"][f"{name}@{addr}"] = int(addr.rsplit(":", 1)[1])
    except BaseException:
        log("up failed; stopping what was started")
        down(argparse.Namespace(quiet=True))
        raise
    state["ready_seconds"] = round(time.monotonic() - t0, 1)
    ENV_JSON.write_text(json.dumps(state, indent=2))
    write_env_sh(state)
    log(f"environment up in {state['ready_seconds']}s")
    print_env()


def env_exports(state: dict) -> dict[str, str]:
    return {
        "KUBECONFIG": state["kubeconfig"],
        "K8S_AUTH_KUBECONFIG": state["kubeconfig"],
        "AWS_ENDPOINT_URL": state["moto_url"],
        "AWS_URL": state["moto_url"],
        **CREDENTIALS,
        "NSFT_BIN_DIR": str(BIN_DIR),
        "NSFT_LOCALENV": str(ENV_JSON),
    }


def write_env_sh(state: dict) -> None:
    lines = ["# source this file to talk to the local environment"]
    lines += [f"export {k}={json.dumps(v)}" for k, v in env_exports(state).items()]
    (STATE_DIR / "env.sh").write_text("\n".join(lines) + "\n")


def load_state() -> dict | None:
    return json.loads(ENV_JSON.read_text()) if ENV_JSON.exists() else None


def print_env() -> None:
    state = load_state()
    if not state or "kubeconfig" not in state:
        print("# local environment is not up", file=sys.stderr)
        return
    for k, v in env_exports(state).items():
        print(f"export {k}={json.dumps(v)}")


def down(args: argparse.Namespace) -> int:
    state = load_state() or {"pids": {}}
    pids = dict(state.get("pids", {}))
    pids.update({f"kwok:{k}": v for k, v in pids_of_kwok().items()})
    if (BIN_DIR / "kwokctl").exists() and (KWOK_WORKDIR / "clusters" / CLUSTER).exists():
        if not getattr(args, "quiet", False):
            log("deleting the kwok cluster")
        kwokctl("delete", "cluster", check=False, timeout=120)
    for name in ("moto", "podnet"):
        if name in pids:
            procs.stop(pids[name])
    for name, pid in pids.items():
        if procs.pid_alive(pid):
            log(f"{name} (pid {pid}) still alive after delete; stopping it")
            procs.stop(pid)
    left = [f"{n}={p}" for n, p in pids.items() if procs.pid_alive(p)]
    sockets = listening_sockets_of([p for p in pids.values() if procs.pid_alive(p)])
    ports = [p for p in state.get("ports", {}).values() if procs.port_is_open(p)]
    record = {"stopped": time.time(), "pids": pids, "ports": state.get("ports", {}),
              "alive": left, "sockets": sockets, "open_ports": ports}
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    (STATE_DIR / "last-down.json").write_text(json.dumps(record, indent=2))
    for f in (ENV_JSON, STATE_DIR / "env.sh"):
        f.unlink(missing_ok=True)
    shutil.rmtree(KWOK_WORKDIR, ignore_errors=True)
    if left or sockets or ports:
        log(f"NOT clean: alive={left} sockets={sockets} ports={ports}")
        return 1
    if not getattr(args, "quiet", False):
        log(f"environment stopped; {len(pids)} processes gone, no sockets left")
    return 0


def status(args: argparse.Namespace) -> int:
    state = load_state()
    if not state:
        print("local environment: down")
        return 1
    pids = dict(state.get("pids", {}))
    for name, pid in sorted(pids.items()):
        print(f"{name:32} pid {pid:<8} {'alive' if procs.pid_alive(pid) else 'DEAD'}")
    for pid, addr in listening_sockets_of(list(pids.values())):
        print(f"listening {addr:28} pid {pid}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("what", nargs="?", default="all", choices=["all", "stan", "k8s"])
    sub.add_parser("up")
    d = sub.add_parser("down")
    d.add_argument("--quiet", action="store_true")
    sub.add_parser("status")
    sub.add_parser("env")
    args = parser.parse_args(argv)
    if args.cmd == "build":
        build(args.what)
        return 0
    if args.cmd == "up":
        up(args)
        return 0
    if args.cmd == "down":
        return down(args)
    if args.cmd == "status":
        return status(args)
    print_env()
    return 0


if __name__ == "__main__":
    sys.exit(main())
