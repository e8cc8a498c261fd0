"""Smoke test of the local environment: every real part answers and works as the suites need.

Runs through `localenv.py run --` (tests/run.py does that): KUBECONFIG, AWS_ENDPOINT_URL and
DOCKER_HOST come from the environment, and this process is in the network namespace that
reaches the cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import boto3
import pytest
import yaml
from kubernetes import client, config
from kubernetes.stream import stream

from tests.lib.ansible_runner import run_playbook
from tests.lib.paths import STATE_DIR

HERE = Path(__file__).parent
ZONES = {"us-east-2a", "us-east-2b", "us-east-2c"}


@pytest.fixture(scope="module")
def state() -> dict:
    path = STATE_DIR / "env.json"
    if not path.exists():
        pytest.fail("the local environment is not up: run `python tests/localenv/localenv.py up`")
    if os.environ.get("KUBECONFIG") != json.loads(path.read_text())["kubeconfig"]:
        pytest.fail("run through `localenv.py run -- ...` (KUBECONFIG is not the environment's)")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def api_client(state):
    return config.new_client_from_config(config_file=os.environ["KUBECONFIG"])


@pytest.fixture(scope="module")
def core(api_client):
    return client.CoreV1Api(api_client)


def wait(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def test_apiserver_readyz_answers_ok(api_client):
    resp = api_client.call_api("/readyz", "GET", auth_settings=["BearerToken"], _preload_content=False)
    resp = resp[0] if isinstance(resp, tuple) else resp
    assert resp.status == 200
    assert resp.data.decode() == "ok"


def test_kind_nodes_ready_on_containerd_with_three_workers_in_three_zones(core, state):
    nodes = core.list_node().items
    assert all(any(c.type == "Ready" and c.status == "True" for c in n.status.conditions) for n in nodes)
    assert all(n.status.node_info.container_runtime_version.startswith("containerd://") for n in nodes)
    assert all(n.status.node_info.kubelet_version == "v1.34.4" for n in nodes)
    workers = [n for n in nodes if "node-role.kubernetes.io/control-plane" not in n.metadata.labels]
    assert len(workers) == 3
    assert {n.metadata.labels["topology.kubernetes.io/zone"] for n in workers} == ZONES
    assert all(n.metadata.name.startswith(state["cluster"]) for n in nodes)


def test_kubectl_get_nodes_through_localenv_run(state):
    """The README's line: `localenv.py run -- kubectl get nodes -o wide` (run here from inside already)."""
    out = subprocess.run(["kubectl", "get", "nodes", "-o", "wide", "--no-headers"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 4
    assert all(" Ready " in f" {line} " and "containerd://" in line for line in lines), out


def test_pods_on_every_worker_reach_pods_on_every_other_worker(core):
    """The pod network across nodes (kindnetd's job, done by the environment): an HTTP server pod on
    each worker, and each pod fetches the page of every other pod by pod IP."""
    ns = f"nsft-net-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": ns}})
    try:
        workers = [n.metadata.name for n in core.list_node().items
                   if "node-role.kubernetes.io/control-plane" not in n.metadata.labels]
        for i, node in enumerate(workers):
            core.create_namespaced_pod(ns, {"metadata": {"name": f"web-{i}", "labels": {"app": "web"}}, "spec": {
                "nodeName": node, "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "web", "image": "busybox:1.36.1", "command": [
                    "sh", "-c", f"mkdir -p /www && echo {node} > /www/index.html && exec httpd -f -p 8080 -h /www"]}]}})

        def running():
            pods = core.list_namespaced_pod(ns, label_selector="app=web").items
            ok = [p for p in pods if p.status.phase == "Running" and p.status.pod_ip]
            return ok if len(ok) == len(workers) else None

        pods = wait(running, 120, "one web pod Running on each worker")
        assert len({p.spec.node_name for p in pods}) == 3
        for pod in pods:
            for peer in pods:
                if peer is pod:
                    continue
                # nc, not wget: Debian's static busybox wget crashes in glibc's resolver (no NSS).
                out = stream(core.connect_get_namespaced_pod_exec, pod.metadata.name, ns, command=[
                    "sh", "-c", f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {peer.status.pod_ip} 8080"],
                    stderr=True, stdout=True, stdin=False, tty=False)
                body = out.split("\r\n\r\n", 1)[-1].strip()
                assert body == peer.spec.node_name, f"{pod.spec.node_name} -> {peer.spec.node_name}: {out!r}"
    finally:
        core.delete_namespace(ns, grace_period_seconds=0)


def test_statefulset_on_three_zones_shares_one_efs_claim_across_nodes(core, api_client):
    """A StatefulSet's pods on three workers mount one static EFS volume (the CSI node stand-in):
    each writes its name into it, and every pod sees every name."""
    play = run_playbook(HERE / "playbooks" / "statefulset.yml")
    assert play.rc == 0, play.stdout[-3000:] + play.stderr[-3000:]
    try:
        pods = core.list_namespaced_pod("nsft-smoke", label_selector="app=smoke").items
        node_zone = {n.metadata.name: n.metadata.labels.get("topology.kubernetes.io/zone")
                     for n in core.list_node().items}
        assert {node_zone[p.spec.node_name] for p in pods} == ZONES
        pvc = core.read_namespaced_persistent_volume_claim("shared", "nsft-smoke")
        assert pvc.status.phase == "Bound" and pvc.spec.volume_name == "nsft-smoke-shared"
        for pod in pods:
            listing = stream(core.connect_get_namespaced_pod_exec, pod.metadata.name, "nsft-smoke",
                             command=["ls", "/data"], stderr=True, stdout=True, stdin=False, tty=False)
            assert sorted(listing.split()) == ["smoke-0", "smoke-1", "smoke-2"], (pod.metadata.name, listing)
        again = run_playbook(HERE / "playbooks" / "statefulset.yml")
        assert again.rc == 0 and again.changed == 0, again.stdout[-3000:]
    finally:
        core.delete_namespace("nsft-smoke", grace_period_seconds=0)
        wait(lambda: not [n for n in core.list_namespace().items if n.metadata.name == "nsft-smoke"], 120,
             "namespace nsft-smoke to go")
        core.delete_persistent_volume("nsft-smoke-shared")


def test_moto_answers_efs_and_ec2():
    kwargs = dict(endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-2",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
    ec2 = boto3.client("ec2", **kwargs)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    efs = boto3.client("efs", **kwargs)
    fs = efs.create_file_system(CreationToken=f"smoke-{uuid.uuid4().hex[:6]}", Tags=[{"Key": "Name", "Value": "smoke"}])
    assert efs.describe_file_systems(FileSystemId=fs["FileSystemId"])["FileSystems"][0]["Name"] == "smoke"
    efs.delete_file_system(FileSystemId=fs["FileSystemId"])
    ec2.delete_vpc(VpcId=vpc)


def test_environment_listens_only_on_loopback_or_its_own_networks(state):
    """moto and the API server's published port are on 127.0.0.1; with a private engine, every
    listener is inside the environment's own network namespace."""
    from urllib.parse import urlparse

    assert urlparse(os.environ["AWS_ENDPOINT_URL"]).hostname == "127.0.0.1"
    kubeconfig = yaml.safe_load(Path(os.environ["KUBECONFIG"]).read_text())
    assert urlparse(kubeconfig["clusters"][0]["cluster"]["server"]).hostname == "127.0.0.1"
    if state["engine"]["private"]:
        netns = os.stat(f"/run/netns/{state['engine']['netns']}").st_ino
        assert os.stat("/proc/self/ns/net").st_ino == netns
        assert os.stat(f"/proc/{state['pids']['moto']}/ns/net").st_ino == netns
        assert os.stat(f"/proc/{state['engine']['pids']['dockerd']}/ns/net").st_ino == netns
