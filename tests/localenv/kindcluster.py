"""The local environment's Kubernetes cluster: kind, 1 control plane + 3 workers in 3 zones.

Everything the tests need from the cluster comes from kind's own configuration:
- zones: each worker's `labels` (topology.kubernetes.io/zone us-east-2a/b/c, region us-east-2);
- the kube-apiserver audit log (Metadata level, one JSON event per request, read by the bench to
  count write calls): a kubeadm ClusterConfiguration patch plus `extraMounts` of the policy and of
  a host directory the log lands in;
- the shared store: one host directory mounted into every worker (`extraMounts`), which the CSI
  node stand-in (tests/localenv/csi_standin) bind-mounts into pods;
- kind's default CNI (kindnetd) cannot be fetched here, so `disableDefaultCNI` is set and the
  environment's own DaemonSet does kindnetd's job (tests/localenv/podnetwork.py).
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from pathlib import Path

import yaml

from tests.localenv.engine import Engine

ZONES = ("us-east-2a", "us-east-2b", "us-east-2c")
REGION = "us-east-2"
SHARED_MOUNT = "/var/lib/nsft-shared"  # where every worker sees the shared host directory
AUDIT_DIR_IN_NODE = "/var/log/kubernetes/audit"
AUDIT_POLICY_IN_NODE = "/etc/kubernetes/audit-policy.yaml"
AUDIT_POLICY = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
"""


def log(msg: str) -> None:
    print(f"[localenv {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def cluster_name(state_dir: Path) -> str:
    """One name per state directory, so two environments never share a cluster."""
    return "nsft-" + hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:6]


def config(name: str, shared_dir: Path, audit_dir: Path, restrict_oom_score_adj: bool) -> dict:
    audit_patch = {
        "kind": "ClusterConfiguration",
        "apiServer": {
            "extraArgs": {"audit-policy-file": AUDIT_POLICY_IN_NODE,
                          "audit-log-path": f"{AUDIT_DIR_IN_NODE}/audit.log"},
            "extraVolumes": [
                {"name": "audit-policy", "hostPath": AUDIT_POLICY_IN_NODE, "mountPath": AUDIT_POLICY_IN_NODE,
                 "readOnly": True, "pathType": "File"},
                {"name": "audit-log", "hostPath": AUDIT_DIR_IN_NODE, "mountPath": AUDIT_DIR_IN_NODE,
                 "pathType": "DirectoryOrCreate"},
            ],
        },
    }
    workers = [{
        "role": "worker",
        "labels": {"topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": REGION},
        "extraMounts": [{"hostPath": str(shared_dir), "containerPath": SHARED_MOUNT}],
    } for zone in ZONES]
    doc: dict = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": name,
        "networking": {"disableDefaultCNI": True, "apiServerAddress": "127.0.0.1"},
        "nodes": [{
            "role": "control-plane",
            "extraMounts": [
                {"hostPath": str(audit_dir / "policy.yaml"), "containerPath": AUDIT_POLICY_IN_NODE, "readOnly": True},
                {"hostPath": str(audit_dir), "containerPath": AUDIT_DIR_IN_NODE},
            ],
            "kubeadmConfigPatches": [yaml.safe_dump(audit_patch)],
        }, *workers],
    }
    if restrict_oom_score_adj:
        # Without CAP_SYS_RESOURCE runc cannot lower oom_score_adj (the pause container asks for -998).
        doc["containerdConfigPatches"] = ['[plugins."io.containerd.grpc.v1.cri"]\n  restrict_oom_score_adj = true\n']
    return doc


def kind(engine: Engine, kind_bin: str, *args: str, timeout: float = 600, check: bool = True,
         capture: bool = True) -> subprocess.CompletedProcess:
    import os

    res = subprocess.run([kind_bin, *args], env={**os.environ, **engine.env()}, capture_output=capture, text=True,
                         timeout=timeout, check=False)
    if check and res.returncode != 0:
        raise RuntimeError(f"kind {' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


def create(engine: Engine, kind_bin: str, name: str, image: str, cfg: dict, state_dir: Path,
           kubeconfig: Path) -> None:
    (state_dir / "audit").mkdir(parents=True, exist_ok=True)
    (state_dir / "audit" / "policy.yaml").write_text(AUDIT_POLICY)
    (state_dir / "shared").mkdir(parents=True, exist_ok=True)
    path = state_dir / "kind-config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    log(f"creating kind cluster {name} ({len(cfg['nodes'])} nodes, image {image})")
    res = kind(engine, kind_bin, "create", "cluster", "--name", name, "--image", image, "--config", str(path),
               "--kubeconfig", str(kubeconfig), "--retain", timeout=900, check=False)
    (state_dir / "logs").mkdir(exist_ok=True)
    (state_dir / "logs" / "kind-create.log").write_text(res.stdout + res.stderr)
    if res.returncode != 0:
        kind(engine, kind_bin, "export", "logs", str(state_dir / "logs" / "kind"), "--name", name, check=False)
        raise RuntimeError(f"kind create cluster failed; see {state_dir / 'logs'}:\n{res.stderr[-2000:]}")
    kubeconfig.chmod(0o600)


def node_containers(engine: Engine, name: str) -> list[str]:
    out = subprocess.run(engine.docker("ps", "-a", "--filter", f"label=io.x-k8s.kind.cluster={name}",
                                       "--format", "{{.Names}}"), capture_output=True, text=True, check=True).stdout
    return sorted(out.split())


def wait_ready(core_api, apps_api, timeout: float = 300) -> None:
    """Every node Ready, the pod network synced on every node, CoreDNS and kube-proxy available."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        nodes = core_api.list_node().items
        not_ready = [n.metadata.name for n in nodes
                     if not any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])]
        dns = apps_api.read_namespaced_deployment("coredns", "kube-system").status
        daemons = {name: apps_api.read_namespaced_daemon_set(name, "kube-system").status
                   for name in ("kube-proxy", "nsft-pod-network")}
        last = (f"nodes not Ready: {not_ready or 'none'}; coredns {dns.ready_replicas or 0}/{dns.replicas}; "
                + "; ".join(f"{name} {d.number_ready}/{d.desired_number_scheduled}" for name, d in daemons.items()))
        if not not_ready and (dns.ready_replicas or 0) == dns.replicas and all(
                d.desired_number_scheduled == len(nodes) == d.number_ready for d in daemons.values()):
            return
        time.sleep(1)
    raise TimeoutError(f"cluster not ready after {timeout:.0f}s: {last}")


def wait_node_back(core_api, apps_api, node: str, since: float, timeout: float = 300) -> None:
    """After a node container restarted at `since` (epoch seconds): its kubelet has reported Ready
    since then, its pod-network pod became ready again since then (routes and CNI config restored
    on it), and the cluster as a whole is ready (wait_ready)."""
    deadline = time.monotonic() + timeout
    last = "nothing read yet"
    while time.monotonic() < deadline:
        ready = next((c for c in core_api.read_node(node).status.conditions or [] if c.type == "Ready"), None)
        pods = core_api.list_namespaced_pod("kube-system", field_selector=f"spec.nodeName={node}",
                                            label_selector="app.kubernetes.io/name=nsft-pod-network").items
        network = [c for p in pods for c in p.status.conditions or [] if c.type == "Ready"]
        kubelet_back = ready is not None and ready.status == "True" and ready.last_heartbeat_time.timestamp() > since
        network_back = any(c.status == "True" and c.last_transition_time.timestamp() > since for c in network)
        last = f"kubelet reported Ready since the restart: {kubelet_back}; pod network synced since: {network_back}"
        if kubelet_back and network_back:
            wait_ready(core_api, apps_api, timeout=max(1.0, deadline - time.monotonic()))
            return
        time.sleep(1)
    raise TimeoutError(f"node {node} not back after {timeout:.0f}s: {last}")


def load_images(engine: Engine, kind_bin: str, name: str, archives: list[Path]) -> None:
    for archive in archives:
        kind(engine, kind_bin, "load", "image-archive", str(archive), "--name", name, timeout=300)


def cluster_names(engine: Engine, kind_bin: str) -> list[str]:
    return kind(engine, kind_bin, "get", "clusters").stdout.split()


def delete(engine: Engine, kind_bin: str, name: str) -> None:
    kind(engine, kind_bin, "delete", "cluster", "--name", name, timeout=300, check=False)
