"""The CSI node stand-in's Kubernetes objects, checked without a cluster.

Every field must be one the Kubernetes API knows (checked against the client's models, so a
misspelt field fails here rather than being pruned by the API server), the DaemonSet must give
the plugin what a CSI node plugin needs, and the args it passes must start the real binary.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from kubernetes import client

from tests.localenv import csi_standin, images

SHARED = "/var/lib/nsft-shared"
IMAGE = "localhost/nsft-csi-standin:0123456789ab"
MODELS = {("v1", "Namespace"): client.V1Namespace, ("apps/v1", "DaemonSet"): client.V1DaemonSet,
          ("storage.k8s.io/v1", "CSIDriver"): client.V1CSIDriver}


def unknown_fields(value, model: str, path: str = "") -> list[str]:
    """Paths of keys the model (an openapi type name such as 'V1PodSpec') does not have."""
    list_of = re.fullmatch(r"list\[(.+)\]", model)
    dict_of = re.fullmatch(r"dict\(str, (.+)\)", model)
    if list_of:
        return [p for i, item in enumerate(value) for p in unknown_fields(item, list_of.group(1), f"{path}[{i}]")]
    if dict_of:
        return [p for k, item in value.items() for p in unknown_fields(item, dict_of.group(1), f"{path}.{k}")]
    cls = getattr(client, model, None)
    if cls is None or not isinstance(value, dict):
        return []  # a scalar type
    by_json = {json_name: attr for attr, json_name in cls.attribute_map.items()}
    found = []
    for key, item in value.items():
        if key not in by_json:
            found.append(f"{path}.{key}")
        else:
            found += unknown_fields(item, cls.openapi_types[by_json[key]], f"{path}.{key}")
    return found


@pytest.fixture
def objects() -> list[dict]:
    return csi_standin.csi_standin_manifests(SHARED, IMAGE)


def by_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def test_every_field_is_known_to_the_kubernetes_api(objects):
    for obj in objects:
        model = MODELS[(obj["apiVersion"], obj["kind"])].__name__
        assert unknown_fields(obj, model) == [], obj["kind"]


def test_unknown_field_check_catches_a_misspelt_field():
    obj = csi_standin.csi_standin_manifests(SHARED, IMAGE)[1]
    obj["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["mountPropogation"] = "Bidirectional"
    assert unknown_fields(obj, "V1DaemonSet") == [".spec.template.spec.containers[0].volumeMounts[0].mountPropogation"]


def test_csi_driver_objects_match_the_real_drivers_node_contract(objects):
    drivers = {o["metadata"]["name"]: o["spec"] for o in by_kind(objects, "CSIDriver")}
    assert set(drivers) == {"efs.csi.aws.com", "file.csi.azure.com"}
    for spec in drivers.values():
        assert spec["attachRequired"] is False
        assert spec["podInfoOnMount"] is False
        assert spec["volumeLifecycleModes"] == ["Persistent"]


def test_daemonset_gives_each_driver_a_privileged_container_with_the_kubelet_dir_and_the_shared_root(objects):
    (ds,) = by_kind(objects, "DaemonSet")
    (ns,) = by_kind(objects, "Namespace")
    assert ds["metadata"]["namespace"] == ns["metadata"]["name"] == "nsft-csi"
    pod = ds["spec"]["template"]["spec"]
    volumes = {v["name"]: v["hostPath"] for v in pod["volumes"]}
    assert volumes["shared"] == {"path": SHARED, "type": "Directory"}
    assert volumes["kubelet-dir"]["path"] == "/var/lib/kubelet"
    drivers = set()
    for container in pod["containers"]:
        assert container["image"] == IMAGE
        assert container["securityContext"]["privileged"] is True
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert mounts["kubelet-dir"]["mountPath"] == "/var/lib/kubelet"
        assert mounts["kubelet-dir"]["mountPropagation"] == "Bidirectional"
        assert mounts["shared"]["mountPath"] == csi_standin.SHARED_IN_POD
        assert {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}} in container["env"]
        args = dict(a.lstrip("-").split("=", 1) for a in container["args"])
        assert args["root"] == csi_standin.SHARED_IN_POD and args["kubelet-dir"] == "/var/lib/kubelet"
        drivers.add(args["driver"])
    assert drivers == set(csi_standin.DRIVERS.values())


def test_shared_root_must_be_absolute():
    with pytest.raises(ValueError, match="shared_root"):
        csi_standin.csi_standin_manifests("shared", IMAGE)


def test_the_daemonsets_args_start_the_real_binary_and_register_it(objects):
    """Each container's args, with only the two host paths pointed at a scratch dir (later flags
    win), start the built stand-in; it creates its CSI and registration sockets where the
    kubelet looks and removes them on SIGTERM."""
    binary = images.cached_binary("csi-standin")
    tmp_path = Path(tempfile.mkdtemp(prefix="csi"))  # unix socket paths must stay under 108 bytes
    (ds,) = by_kind(objects, "DaemonSet")
    for container in ds["spec"]["template"]["spec"]["containers"]:
        root, kubelet = tmp_path / "shared", tmp_path / container["name"]
        root.mkdir(exist_ok=True)
        args = [*container["args"], f"--root={root}", f"--kubelet-dir={kubelet}"]
        driver = next(a.split("=", 1)[1] for a in args if a.startswith("--driver="))
        sockets = [kubelet / "plugins" / driver / "csi.sock", kubelet / "plugins_registry" / f"{driver}-reg.sock"]
        proc = subprocess.Popen([str(binary), *args], env={**os.environ, "NODE_NAME": "worker-1"},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 10
            while not all(s.exists() for s in sockets):
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, f"sockets not created: {sockets}"
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGTERM)
            out = proc.communicate(timeout=10)[0]
        assert proc.returncode == 0, out
        assert not any(Path(s).exists() for s in sockets), "sockets left behind after SIGTERM"
    shutil.rmtree(tmp_path)
