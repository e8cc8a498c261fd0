"""Smoke test of the local environment: every real part answers and works as the suites need."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from kubernetes import client, config

from tests.lib import procs
from tests.lib.ansible_runner import run_playbook
from tests.lib.paths import BIN_DIR, STATE_DIR

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def state() -> dict:
    path = STATE_DIR / "env.json"
    if not path.exists():
        pytest.fail("the local environment is not up: run `python tests/localenv/localenv.py up`")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def api_client(state):
    return config.new_client_from_config(config_file=state["kubeconfig"])


def test_apiserver_readyz_answers_ok(api_client):
    resp = api_client.call_api("/readyz", "GET", auth_settings=["BearerToken"], _preload_content=False)
    resp = resp[0] if isinstance(resp, tuple) else resp
    assert resp.status == 200
    assert resp.data.decode() == "ok"


def test_three_kwok_nodes_in_three_zones(api_client):
    nodes = client.CoreV1Api(api_client).list_node(label_selector="type=kwok").items
    zones = {n.metadata.labels["topology.kubernetes.io/zone"] for n in nodes}
    assert len(nodes) >= 3
    assert len(zones) == 3


def test_statefulset_ready_on_three_zones_and_rwx_claim_bound(state, api_client):
    result = run_playbook(HERE / "playbooks" / "statefulset.yml", env={"K8S_AUTH_KUBECONFIG": state["kubeconfig"]})
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    apps = client.AppsV1Api(api_client)
    core = client.CoreV1Api(api_client)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sts = apps.read_namespaced_stateful_set("smoke", "nsft-smoke")
        if (sts.status.ready_replicas or 0) == 3:
            break
        time.sleep(0.5)
    assert sts.status.ready_replicas == 3
    pvc = core.read_namespaced_persistent_volume_claim("shared", "nsft-smoke")
    assert pvc.status.phase == "Bound"
    assert pvc.spec.volume_name == "nsft-smoke-shared"
    pods = core.list_namespaced_pod("nsft-smoke", label_selector="app=smoke").items
    node_zone = {
        n.metadata.name: n.metadata.labels["topology.kubernetes.io/zone"] for n in core.list_node().items
    }
    assert len({node_zone[p.spec.node_name] for p in pods}) == 3
    # Rerun: nothing changes.
    again = run_playbook(HERE / "playbooks" / "statefulset.yml", env={"K8S_AUTH_KUBECONFIG": state["kubeconfig"]})
    assert again.rc == 0 and again.changed == 0, again.stdout[-3000:]
    core.delete_namespace("nsft-smoke")
    core.delete_persistent_volume("nsft-smoke-shared")


def test_moto_answers_efs_and_ec2(state):
    kwargs = dict(endpoint_url=state["moto_url"], region_name="us-east-2",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
    ec2 = boto3.client("ec2", **kwargs)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    efs = boto3.client("efs", **kwargs)
    fs = efs.create_file_system(CreationToken="smoke-test", Tags=[{"Key": "Name", "Value": "smoke"}])
    assert efs.describe_file_systems(FileSystemId=fs["FileSystemId"])["FileSystems"][0]["Name"] == "smoke"
    efs.delete_file_system(FileSystemId=fs["FileSystemId"])
    ec2.delete_vpc(VpcId=vpc)


def test_nats_streaming_server_answers_serverz(tmp_path):
    port, mport = procs.free_port(), procs.free_port()
    proc = procs.start(
        [str(BIN_DIR / "nats-streaming-server"), "-a", "127.0.0.1", "-p", str(port), "-m", str(mport),
         "-cid", "smoke", "-store", "file", "-dir", str(tmp_path / "store")],
        tmp_path / "stan.log",
    )
    try:
        procs.wait_for_port(mport, proc=proc)
        deadline = time.monotonic() + 20
        serverz = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{mport}/streaming/serverz", timeout=2) as resp:
                    serverz = json.load(resp)
                    break
            except OSError:
                time.sleep(0.2)
        assert serverz is not None
        assert serverz["cluster_id"] == "smoke"
        assert serverz["state"] == "STANDALONE"
        assert serverz["version"] == "0.25.6"
    finally:
        procs.stop(proc.pid)


def test_environment_listens_only_on_loopback(state):
    from tests.localenv.localenv import listening_sockets_of

    pids = [int(p) for p in state["pids"].values()]
    # include children (kwokctl binary runtime starts each component as its own process)
    sockets = listening_sockets_of(pids)
    assert sockets, "expected the environment's processes to listen somewhere"
    bad = [(pid, addr) for pid, addr in sockets if not addr.startswith(("127.", "[::1]"))]
    assert not bad, f"listening on non-loopback addresses: {bad}"
    assert os.environ.get("KUBECONFIG") == state["kubeconfig"]


def test_apiserver_pod_proxy_reaches_a_local_process_through_the_pod_network_standin(state, api_client, tmp_path):
    """The real kube-apiserver's pods/proxy -> cluster egress -> tests/localenv/podnet.py -> 127.0.0.1."""
    import functools
    import http.server
    import threading

    core = client.CoreV1Api(api_client)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "example.invalid/none:1", "ports": [{"containerPort": 8222}]}]}}
    core.create_namespaced_pod("default", pod)
    (tmp_path / "hello").write_text("hello through the pod proxy\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    routes = Path(state["podnet_routes"])
    try:
        deadline = time.monotonic() + 60
        while not (ip := core.read_namespaced_pod("probe", "default").status.pod_ip) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ip, "kwok gave the pod no IP"
        path = "/api/v1/namespaces/default/pods/probe:8222/proxy/hello"

        def get() -> tuple[int, str]:
            try:
                resp = api_client.call_api(path, "GET", auth_settings=["BearerToken"], _preload_content=False)
                resp = resp[0] if isinstance(resp, tuple) else resp
                return resp.status, resp.data.decode()
            except client.ApiException as exc:
                return exc.status, exc.body.decode() if isinstance(exc.body, bytes) else str(exc.body)

        status, body = get()  # no route yet: the API server fails the request as for an unreachable pod
        assert status == 503 and f"while dialing {ip}:8222" in body, (status, body)
        routes.write_text(json.dumps({f"{ip}:8222": "10.1.2.3:80"}))  # only loopback targets are honoured
        assert get()[0] == 503
        routes.write_text(json.dumps({f"{ip}:8222": f"127.0.0.1:{server.server_address[1]}"}))
        assert get() == (200, "hello through the pod proxy\n")
    finally:
        routes.write_text("{}\n")
        server.shutdown()
        core.delete_namespaced_pod("probe", "default", grace_period_seconds=0)
