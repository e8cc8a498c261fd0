"""Deploy the CSI node stand-in (tests/localenv/csi-standin) on the local kind cluster.

The stand-in plays the node side of `efs.csi.aws.com` and `file.csi.azure.com` (no NFS, SMB or
cloud here): every volume is a directory below one host directory that every kind worker mounts
at the same path, bind-mounted into the pod, so the claims that playbooks/aws.yml and
playbooks/azure.yml create mount unchanged and STAN's FT lock is shared across nodes. See
tests/localenv/csi-standin/README.md for what it does and does not emulate.

    csi_standin_manifests(shared_root, image) -> the objects (namespace, DaemonSet, CSIDrivers)
    deploy(api_client, shared_root)           -> apply them and wait until every node's kubelet
                                                 has registered both drivers
    python tests/localenv/csi_standin.py --shared-root /var/lib/nsft-shared --image REF   (YAML)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

NAMESPACE = "nsft-csi"
DRIVERS = {"efs": "efs.csi.aws.com", "azurefile": "file.csi.azure.com"}
LABELS = {"app.kubernetes.io/name": "csi-standin", "app.kubernetes.io/part-of": "nsft-localenv"}
KUBELET_DIR = "/var/lib/kubelet"
SHARED_IN_POD = "/shared"


def csi_driver(name: str, fs_group_policy: str = "ReadWriteOnceWithFSType") -> dict:
    """The CSIDriver object: no attach step, no pod info, persistent volumes only.

    fsGroupPolicy is each real driver's (the default): the kubelet does not chown a
    ReadWriteMany volume for fsGroup, as on EFS and Azure Files NFS.
    """
    return {
        "apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
        "metadata": {"name": name, "labels": dict(LABELS)},
        "spec": {"attachRequired": False, "podInfoOnMount": False, "volumeLifecycleModes": ["Persistent"],
                 "fsGroupPolicy": fs_group_policy},
    }


def plugin_container(short: str, driver: str, image: str) -> dict:
    return {
        "name": short,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": [f"--driver={driver}", f"--root={SHARED_IN_POD}", f"--kubelet-dir={KUBELET_DIR}"],
        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        # Bind mounts into pod directories and their propagation back to the node need it.
        "securityContext": {"privileged": True},
        "resources": {"requests": {"cpu": "5m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        "volumeMounts": [
            # The kubelet's directory at the same path: the plugin's socket (plugins/<driver>/),
            # its registration socket (plugins_registry/) and the pods' target and staging paths,
            # where its bind mounts must propagate back to the node.
            {"name": "kubelet-dir", "mountPath": KUBELET_DIR, "mountPropagation": "Bidirectional"},
            {"name": "shared", "mountPath": SHARED_IN_POD, "mountPropagation": "HostToContainer"},
        ],
    }


def csi_standin_manifests(shared_root: str, image: str, namespace: str = NAMESPACE) -> list[dict]:
    """Namespace, one DaemonSet with a container per driver, and the two CSIDriver objects.

    shared_root: the directory every node mounts at the same path (kind extraMounts).
    image: the stand-in's image reference (tests/localenv/images.py csi_standin_ref()).
    """
    if not shared_root.startswith("/"):
        raise ValueError(f"shared_root must be an absolute path on the nodes, got {shared_root!r}")
    daemonset = {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "csi-standin-node", "namespace": namespace, "labels": dict(LABELS)},
        "spec": {
            "selector": {"matchLabels": dict(LABELS)},
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {
                    # Storage must not depend on the pod network (nor does it use any network).
                    "hostNetwork": True,
                    "priorityClassName": "system-node-critical",
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 10,
                    "containers": [plugin_container(short, driver, image) for short, driver in DRIVERS.items()],
                    "volumes": [
                        {"name": "kubelet-dir", "hostPath": {"path": KUBELET_DIR, "type": "Directory"}},
                        # Directory, not DirectoryOrCreate: a node without the shared mount must fail
                        # loudly rather than give its pods a private store (and a private FT lock).
                        {"name": "shared", "hostPath": {"path": shared_root, "type": "Directory"}},
                    ],
                },
            },
        },
    }
    namespace_obj = {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {**LABELS, "pod-security.kubernetes.io/enforce": "privileged"}},
    }
    return [namespace_obj, daemonset, *(csi_driver(name) for name in DRIVERS.values())]


def deploy(api_client, shared_root: str, image: str | None = None, namespace: str = NAMESPACE,
           timeout: float = 180.0) -> None:
    """Apply the manifests (server-side apply) and wait until the kubelet of every node that runs
    the DaemonSet lists both drivers in its CSINode object (i.e. the registration worked)."""
    from kubernetes import client

    from tests.localenv import kubeapply

    if image is None:
        from tests.localenv import images

        image = images.csi_standin_ref()
    kubeapply.apply(api_client, csi_standin_manifests(shared_root, image, namespace))

    apps, storage, core = client.AppsV1Api(api_client), client.StorageV1Api(api_client), client.CoreV1Api(api_client)
    selector = ",".join(f"{k}={v}" for k, v in LABELS.items())
    deadline, last = time.monotonic() + timeout, "nothing read yet"
    while time.monotonic() < deadline:
        ds = apps.read_namespaced_daemon_set("csi-standin-node", namespace).status
        pods = core.list_namespaced_pod(namespace, label_selector=selector).items
        nodes = sorted({p.spec.node_name for p in pods if p.spec.node_name})
        missing = {}
        for node in nodes:
            try:
                # Raw JSON: the client's model refuses a CSINode whose spec.drivers is still null.
                raw = storage.read_csi_node(node, _preload_content=False)
                registered = {d["name"] for d in (json.loads(raw.data).get("spec", {}).get("drivers") or [])}
            except client.ApiException as exc:
                if exc.status != 404:
                    raise
                registered = set()
            if set(DRIVERS.values()) - registered:
                missing[node] = sorted(set(DRIVERS.values()) - registered)
        desired, ready = ds.desired_number_scheduled or 0, ds.number_ready or 0
        if desired > 0 and ready == desired and len(nodes) == desired and not missing:
            return
        last = f"DaemonSet {ready}/{desired} ready; drivers not registered: {missing or 'none'}"
        time.sleep(1)
    raise TimeoutError(f"CSI node stand-in not ready after {timeout:.0f}s: {last} "
                       f"(kubectl -n {namespace} logs ds/csi-standin-node --all-containers)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared-root", required=True, help="the shared directory's path on every node")
    parser.add_argument("--image", required=True, help="the stand-in's image reference")
    parser.add_argument("--namespace", default=NAMESPACE)
    args = parser.parse_args(argv)
    print(yaml.safe_dump_all(csi_standin_manifests(args.shared_root, args.image, args.namespace), sort_keys=False), end="")


if __name__ == "__main__":
    main()
