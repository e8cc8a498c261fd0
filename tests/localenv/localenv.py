"""The local environment: a real AWS emulator and a real Kubernetes cluster with real pods.

    localenv.py build        build/cache the binaries (Kubernetes, etcd, CoreDNS, kind, STAN ...)
    localenv.py up           start everything (below); idempotent: says so when already up
    localenv.py status       what runs and where
    localenv.py run -- CMD   run CMD with the environment's KUBECONFIG, AWS/Azure endpoint variables
                             and DOCKER_HOST, in the network namespace that reaches the cluster
    localenv.py env          print those variables as shell exports
    localenv.py cluster create|delete --name N --dir D [--kubeconfig K]
                             another cluster of the same shape on the same engine (molecule/kind)
    localenv.py down         stop and remove everything `up` made; fails if anything is left

`up` starts:
- a Docker engine: the user's own when one answers, otherwise (as root) a private dockerd with
  its own containerd in a network namespace made for it (tests/localenv/engine.py);
- a kind cluster of the pinned Kubernetes version: 1 control plane + 3 workers labelled
  topology.kubernetes.io/zone us-east-2a/b/c, pod networking across nodes, the kube-apiserver
  audit log, one shared host directory in every worker (tests/localenv/kindcluster.py), from
  kindest/node when it can be pulled, else a node image built here from source
  (tests/localenv/nodeimage.py);
- the images the roles and tests reference, written locally and loaded with `kind load`, and the
  node side of the EFS and Azure File CSI drivers (the one storage stand-in);
- moto_server (AWS), on 127.0.0.1 of the same network namespace.

State lives in $NSFT_STATE_DIR (default <repo>/.localenv); binaries, images and the node image in
$NSFT_CACHE_DIR (default ~/.cache/nats_streaming_ft). Two environments with separate state
directories can run at once: names, namespaces and ports derive from the state directory.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.lib import procs  # noqa: E402
from tests.lib.moto import CREDENTIALS, start_moto  # noqa: E402
from tests.lib.paths import CACHE_DIR, REPO, STATE_DIR, pinned_versions, stage_collection  # noqa: E402
from tests.localenv import engine as engines  # noqa: E402
from tests.localenv import kindcluster  # noqa: E402

ENV_JSON = STATE_DIR / "env.json"
CLONE_NEWNET = 0x40000000


def log(msg: str) -> None:
    print(f"[localenv {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def build(what: str = "all") -> None:
    subprocess.run(["bash", str(REPO / "tests" / "localenv" / "build.sh"), what], check=True)


def kind_bin() -> str:
    return str(CACHE_DIR / "bin" / f"kind-{pinned_versions()['KIND_VERSION']}")


def _setns(fd: int, what: str) -> None:
    if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"setns into {what} failed")


def enter_netns(name: str) -> None:
    """Move this process (and so everything it starts) into the named network namespace."""
    if not name:
        return
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        _setns(fd, f"network namespace {name}")
    finally:
        os.close(fd)


@contextlib.contextmanager
def in_netns(name: str):
    """enter_netns for the block only: afterwards this process is back in the namespace it came from."""
    if not name:
        yield
        return
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        enter_netns(name)
        yield
    finally:
        try:
            _setns(home, "the original network namespace")
        finally:
            os.close(home)


INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
# Each kind node's systemd and kubelet hold inotify instances of the host's (one user namespace);
# 128, a common default, runs out with two 4-node clusters (molecule/kind's beside the
# environment's): "Too many open files" in a node. kind's documentation raises it to 512.
NEEDED_INOTIFY_INSTANCES = 512


def raise_inotify_limit(state: dict) -> None:
    """Raise fs.inotify.max_user_instances to what the clusters need, recording the old value so
    that `down` restores it; without root, fail with the command to run."""
    current = int(INOTIFY_INSTANCES.read_text())
    if current >= NEEDED_INOTIFY_INSTANCES:
        return
    if os.geteuid() != 0:
        raise RuntimeError(f"fs.inotify.max_user_instances is {current}; kind nodes need {NEEDED_INOTIFY_INSTANCES}: "
                           f"sudo sysctl fs.inotify.max_user_instances={NEEDED_INOTIFY_INSTANCES}")
    INOTIFY_INSTANCES.write_text(str(NEEDED_INOTIFY_INSTANCES))
    state["restore_sysctls"] = {str(INOTIFY_INSTANCES): current}
    save(state)
    log(f"raised fs.inotify.max_user_instances from {current} to {NEEDED_INOTIFY_INSTANCES} (restored by down)")


def restore_sysctls(state: dict) -> None:
    for path, value in state.get("restore_sysctls", {}).items():
        Path(path).write_text(str(value))


def kube_clients(kubeconfig: str):
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=kubeconfig)
    return client.CoreV1Api(api), client.AppsV1Api(api), api


def save(state: dict) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    ENV_JSON.write_text(json.dumps(state, indent=2))


def load_state() -> dict | None:
    return json.loads(ENV_JSON.read_text()) if ENV_JSON.exists() else None


def up(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    if ENV_JSON.exists():
        log(f"already up (state in {ENV_JSON}); `localenv.py down` stops it")
        return 0
    build("all")
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    logs = STATE_DIR / "logs"
    logs.mkdir(exist_ok=True)
    name = kindcluster.cluster_name(STATE_DIR)
    state: dict = {"started": time.time(), "cluster": name, "pids": {}, "stages": {}}
    stage_t = time.monotonic()

    def stage(label: str) -> None:
        nonlocal stage_t
        state["stages"][label] = round(time.monotonic() - stage_t, 1)
        stage_t = time.monotonic()

    try:
        raise_inotify_limit(state)
        engine = engines.user_engine()
        if engine:
            log("using the Docker engine that answers at " + (engine.docker_host or "the default socket"))
        else:
            log("no Docker engine answers: starting a private dockerd in a network namespace of its own")
            save(state)  # so that `down` cleans up a half-made environment
            engine = engines.start_private(STATE_DIR, logs)
        state["engine"] = engine.to_json()
        save(state)
        stage("docker engine")

        # Before entering the engine's namespace: building the node image fetches Debian packages.
        from tests.localenv import nodeimage

        state["node_image"] = nodeimage.ensure(engine.docker(), can_pull=not engine.private)
        image = state["node_image"]
        stage("node image")
        enter_netns(engine.netns)

        log("starting moto_server (AWS emulator)")
        moto = start_moto(logs / "moto.log", recording=STATE_DIR / "moto-recording.jsonl")
        state["pids"]["moto"] = moto.proc.pid
        state["moto_url"] = moto.url
        save(state)
        stage("moto")

        kubeconfig = STATE_DIR / "kubeconfig"
        state["kubeconfig"] = str(kubeconfig)
        state["audit_log"] = str(STATE_DIR / "audit" / "audit.log")
        state["shared_dir"] = str(STATE_DIR / "shared")
        save(state)
        provision_cluster(engine, name, image, STATE_DIR, kubeconfig, stage)
    except BaseException:
        if os.environ.get("NSFT_KEEP_FAILED"):
            log(f"up failed; NSFT_KEEP_FAILED is set: left as it is for inspection (logs in {logs})")
            raise
        log("up failed; removing what was made (logs stay in " + str(logs) + ")")
        down(argparse.Namespace(quiet=True, keep_logs=True))
        raise
    state["ready_seconds"] = round(time.monotonic() - t0, 1)
    save(state)
    write_env_sh(state)
    log(f"environment up in {state['ready_seconds']}s: "
        + ", ".join(f"{k} {v}s" for k, v in state["stages"].items()))
    return 0


def provision_cluster(engine: engines.Engine, name: str, image: str, directory: Path, kubeconfig: Path,
                      stage=lambda label: None) -> None:
    """Create a kind cluster of the environment's shape and make it usable: images, pod network,
    the CSI node stand-in. Used for the environment's cluster and for molecule/kind's own."""
    from tests.localenv import csi_standin, images, podnetwork

    cfg = kindcluster.config(name, directory / "shared", directory / "audit",
                             restrict_oom_score_adj=engines.host_lacks_sys_resource())
    kindcluster.create(engine, kind_bin(), name, image, cfg, directory, kubeconfig)
    stage("kind create")
    archives = images.build_all()
    log(f"loading {len(archives)} locally written images into the nodes (kind load)")
    kindcluster.load_images(engine, kind_bin(), name, [path for _ref, path in archives])
    stage("images")
    core, apps, api = kube_clients(str(kubeconfig))
    podnetwork.deploy(api, next(ref for ref, _path in archives if ref.startswith("localhost/nsft-pod-network:")))
    kindcluster.wait_ready(core, apps)
    log(f"{len(core.list_node().items)} nodes Ready, pod network across nodes, CoreDNS and kube-proxy up")
    stage("pod network")
    csi_standin.deploy(api, kindcluster.SHARED_MOUNT)
    stage("storage stand-in")


def cluster(args: argparse.Namespace) -> int:
    """A second kind cluster on the environment's engine (molecule/kind's), same shape and parts."""
    state = load_state()
    if not state or "engine" not in state:
        print("the local environment is not up: run `localenv.py up` first", file=sys.stderr)
        return 2
    engine = engines.Engine.from_json(state["engine"])
    enter_netns(engine.netns)
    directory = Path(args.dir).resolve()
    if args.op == "create":
        if args.name in kindcluster.cluster_names(engine, kind_bin()):
            log(f"kind cluster {args.name} exists already")
            return 0
        directory.mkdir(parents=True, exist_ok=True)
        provision_cluster(engine, args.name, state["node_image"], directory, Path(args.kubeconfig))
    else:
        kindcluster.delete(engine, kind_bin(), args.name)
        for sub in ("shared", "audit", "logs"):
            shutil.rmtree(directory / sub, ignore_errors=True)
    return 0


def env_exports(state: dict) -> dict[str, str]:
    engine = engines.Engine.from_json(state["engine"])
    return {
        "KUBECONFIG": state["kubeconfig"],
        "K8S_AUTH_KUBECONFIG": state["kubeconfig"],
        "AWS_ENDPOINT_URL": state["moto_url"],
        "AWS_URL": state["moto_url"],
        **CREDENTIALS,
        **engine.env(),
        "KIND_CLUSTER_NAME": state["cluster"],
        "NSFT_KIND": kind_bin(),
        "NSFT_NETNS": engine.netns,
        "NSFT_BIN_DIR": str(CACHE_DIR / "current"),
        "NSFT_LOCALENV": str(ENV_JSON),
    }


def write_env_sh(state: dict) -> None:
    lines = ["# the local environment's variables; `localenv.py run -- CMD` also enters its network namespace"]
    lines += [f"export {k}={json.dumps(v)}" for k, v in env_exports(state).items()]
    (STATE_DIR / "env.sh").write_text("\n".join(lines) + "\n")


def run(args: argparse.Namespace) -> int:
    state = load_state()
    if not state or "kubeconfig" not in state:
        print("the local environment is not up: run `localenv.py up` first", file=sys.stderr)
        return 2
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        print("usage: localenv.py run -- CMD [ARGS...]", file=sys.stderr)
        return 2
    enter_netns(state["engine"].get("netns", ""))
    stage_collection()  # .build/collections, where molecule's ANSIBLE_COLLECTIONS_PATH points
    # The pinned kubectl (and kind, crictl ...) first on PATH.
    path = f"{CACHE_DIR / 'current'}{os.pathsep}{os.environ.get('PATH', '')}"
    os.execvpe(cmd[0], cmd, {**os.environ, **env_exports(state), "PATH": path})
    return 127  # not reached


def leftovers(state: dict) -> list[str]:
    """What of the environment still exists (processes, cluster containers, namespace, mounts)."""
    left = [f"process {n}={p}" for n, p in state.get("pids", {}).items() if procs.pid_alive(p)]
    engine = engines.Engine.from_json(state["engine"]) if state.get("engine") else None
    if engine and engine.private:
        paths = engines.PrivatePaths(STATE_DIR)
        left += [f"process {n}={p}" for n, p in engine.pids.items() if procs.pid_alive(p)]
        left += [f"process {p} in netns" for p in engines.netns_pids(paths.ident)]
        left += ["netns " + paths.ident] if Path(f"/run/netns/{paths.ident}").exists() else []
        left += [f"mount {m}" for m in engines.mounts_under(STATE_DIR, paths.run_dir)]
        left += [f"cgroup {c}" for c in engines.cgroup_dirs(paths.ident)]
        left += [f"directory {d}" for d in (paths.run_dir, paths.data_dir) if d.exists()]
    elif engine and state.get("cluster"):
        try:
            left += [f"container {c}" for c in kindcluster.node_containers(engine, state["cluster"])]
        except subprocess.CalledProcessError:
            pass
    return left


def down(args: argparse.Namespace) -> int:
    state = load_state()
    quiet = getattr(args, "quiet", False)
    if state is None:
        if not quiet:
            log("not up")
        return 0
    engine = engines.Engine.from_json(state["engine"]) if state.get("engine") else None
    if engine and engine.netns and Path(f"/run/netns/{engine.netns}").exists():
        enter_netns(engine.netns)
    if engine and state.get("cluster") and Path(kind_bin()).exists():
        if not quiet:
            log(f"deleting kind cluster {state['cluster']}")
        kindcluster.delete(engine, kind_bin(), state["cluster"])
    if "moto" in state.get("pids", {}):
        procs.stop(state["pids"]["moto"])
    problems: list[str] = []
    if engine and engine.private:
        if not quiet:
            log("stopping the private Docker engine and removing its namespace, mounts and data")
        problems += engines.stop_private(STATE_DIR, engine)
    restore_sysctls(state)
    problems += [p for p in leftovers(state) if p not in problems]
    record = {"stopped": time.time(), "state": state, "left": problems}
    (STATE_DIR / "last-down.json").write_text(json.dumps(record, indent=2))
    for name in ("env.json", "env.sh", "kubeconfig", "kind-config.yaml", "moto-recording.jsonl"):
        (STATE_DIR / name).unlink(missing_ok=True)
    for name in ("shared", "audit"):
        shutil.rmtree(STATE_DIR / name, ignore_errors=True)
    if not getattr(args, "keep_logs", False):
        shutil.rmtree(STATE_DIR / "logs", ignore_errors=True)
    if problems:
        log("NOT clean: " + "; ".join(problems))
        return 1
    if not quiet:
        log("environment stopped; nothing of it is left but the caches")
    return 0


def status(args: argparse.Namespace) -> int:
    state = load_state()
    if not state:
        print("local environment: down")
        return 1
    engine = engines.Engine.from_json(state["engine"])
    print(f"cluster      {state['cluster']} (image {state.get('node_image', '?')})")
    print(f"docker       {'private, netns ' + engine.netns if engine.private else engine.docker_host or 'default'}")
    for name, pid in sorted({**state.get("pids", {}), **engine.pids}.items()):
        print(f"{name:12} pid {pid:<8} {'alive' if procs.pid_alive(pid) else 'DEAD'}")
    if engine.netns:
        enter_netns(engine.netns)
    core, _apps, _api = kube_clients(state["kubeconfig"])
    try:
        nodes = core.list_node(_request_timeout=10).items
    except Exception as exc:  # noqa: BLE001 - any failure to reach the API server is the answer
        print(f"API server   not answering ({type(exc).__name__}): the environment is broken; "
              "`localenv.py down` removes what is left of it", file=sys.stderr)
        return 1
    for node in nodes:
        address = next((a.address for a in node.status.addresses if a.type == "InternalIP"), "-")
        ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
        zone = node.metadata.labels.get("topology.kubernetes.io/zone", "-")
        print(f"{node.metadata.name:28} {'Ready' if ready else 'NotReady':9} {address:15} pods {node.spec.pod_cidr} {zone}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build")
    b.add_argument("what", nargs="?", default="all", choices=["all", "stan", "kind"])
    sub.add_parser("up")
    d = sub.add_parser("down")
    d.add_argument("--quiet", action="store_true")
    d.add_argument("--keep-logs", action="store_true")
    sub.add_parser("status")
    sub.add_parser("env")
    r = sub.add_parser("run")
    r.add_argument("cmd", nargs=argparse.REMAINDER)
    c = sub.add_parser("cluster", help="create/delete another kind cluster on the environment's engine")
    c.add_argument("op", choices=["create", "delete"])
    c.add_argument("--name", required=True)
    c.add_argument("--dir", required=True, help="directory for its kubeconfig-independent files (shared store, audit)")
    c.add_argument("--kubeconfig", default="")
    args = parser.parse_args(argv)
    if args.action == "build":
        build(args.what)
        return 0
    if args.action == "env":
        state = load_state()
        if not state or "kubeconfig" not in state:
            print("# local environment is not up", file=sys.stderr)
            return 1
        for k, v in env_exports(state).items():
            print(f"export {k}={json.dumps(v)}")
        return 0
    return {"up": up, "down": down, "status": status, "run": run, "cluster": cluster}[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
