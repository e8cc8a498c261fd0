"""stan_ft_status in Kubernetes mode against the real kube-apiserver, kubelets and STAN pods.

The StatefulSet is the stan role's, on a static EFS CSI volume (tests/e2e/stan_on_efs_csi.yml),
running on the three kind workers. Every answer the module judges comes from the real parts:
the API server's pod proxy, its 401 for a token it does not know and its 404 for a StatefulSet
that does not exist, the scheduler leaving a pod Pending, a running pod's kubelet-side refusal of
a port nobody listens on, and a second real STAN server of another FT group behind one selector.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from tests.lib.ansible_runner import run_playbook
from tests.lib.paths import REPO

from .conftest import LOCALENV_VARS

HERE = REPO / "tests" / "e2e"
NAMESPACE = f"e2e-ftstatus-{uuid.uuid4().hex[:6]}"
TASK = "Check that exactly one pod is active"
STAN_IMAGE = yaml.safe_load((REPO / "roles" / "stan" / "defaults" / "main.yml").read_text())["stan_image"]
SHELL_IMAGE = yaml.safe_load((REPO / "roles" / "stan" / "defaults" / "main.yml").read_text())["stan_init_image"]


def run_ft_status(env: dict, **options) -> tuple[int, dict]:
    extra = {"ft_namespace": NAMESPACE, **{k if k.startswith("k8s_") else f"ft_{k}": v for k, v in options.items()}}
    play = run_playbook(HERE / "ft_status_k8s.yml", extra_vars=extra, env=env, timeout=300)
    try:
        return play.rc, play.task(TASK)
    except KeyError:
        raise AssertionError(f"module did not run (rc={play.rc}): {play.stdout[-2000:]} {play.stderr[-2000:]}")


@pytest.fixture(scope="module")
def stan(localenv, kube):
    """The stan role's StatefulSet (3 replicas, one per worker) in NAMESPACE, with one FT_ACTIVE."""
    file_system_id = "fs-" + uuid.uuid4().hex[:17]
    extra = {"e2e_namespace": NAMESPACE, "e2e_file_system_id": file_system_id, **LOCALENV_VARS}
    core = client.CoreV1Api(kube)
    try:
        play = run_playbook(HERE / "stan_on_efs_csi.yml", extra_vars=extra, env=localenv["env"], timeout=900)
        assert play.rc == 0, play.stdout[-4000:] + play.stderr[-2000:]
        sts = client.AppsV1Api(kube).read_namespaced_stateful_set("stan", NAMESPACE)
        yield {"selector": dict(sts.spec.selector.match_labels), "file_system_id": file_system_id}
    finally:
        core.delete_namespace(NAMESPACE, propagation_policy="Foreground")
        pv = f"{NAMESPACE}-efs"
        try:
            core.delete_persistent_volume(pv)
        except client.ApiException as exc:
            if exc.status != 404:
                raise


def serverz_through_proxy(kube, pod: str) -> dict:
    """A pod's /streaming/serverz read with the kubernetes client directly (not the module)."""
    data = client.CoreV1Api(kube).connect_get_namespaced_pod_proxy_with_path(
        f"{pod}:8222", NAMESPACE, "streaming/serverz", _preload_content=False)
    return json.loads(data.data)


# The STAN pods' required anti-affinity keeps any other pod with their labels off the three workers
# (a real scheduler's answer: "didn't satisfy existing pods anti-affinity rules"): the extra pods
# that must run go to the control-plane node, the one node without a STAN pod.
ON_CONTROL_PLANE = {
    "nodeSelector": {"node-role.kubernetes.io/control-plane": ""},
    "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}],
}


def make_pod(kube, name: str, labels: dict, spec: dict) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
            "spec": {"terminationGracePeriodSeconds": 1, "automountServiceAccountToken": False, **spec}}
    client.CoreV1Api(kube).create_namespaced_pod(NAMESPACE, body)


def wait_for_pod(kube, name: str, predicate, what: str, timeout: float = 120) -> client.V1Pod:
    deadline = time.monotonic() + timeout
    while True:
        pod = client.CoreV1Api(kube).read_namespaced_pod(name, NAMESPACE)
        if predicate(pod):
            return pod
        if time.monotonic() > deadline:
            raise AssertionError(f"pod {name} is not {what} after {timeout}s: {pod.status}")
        time.sleep(1)


def delete_pods(kube, *names: str) -> None:
    core = client.CoreV1Api(kube)
    for name in names:
        try:
            core.delete_namespaced_pod(name, NAMESPACE, grace_period_seconds=0)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + 120
    while any(p.metadata.name in names for p in core.list_namespaced_pod(NAMESPACE).items):
        assert time.monotonic() < deadline, f"pods {names} were not deleted within 120s"
        time.sleep(1)


def running(pod: client.V1Pod) -> bool:
    return pod.status.phase == "Running" and bool(pod.status.pod_ip)


def test_statefulset_mode_reads_one_active_and_two_standby_pods_through_the_pod_proxy(localenv, kube, stan):
    rc, result = run_ft_status(localenv["env"], statefulset="stan")
    assert rc == 0, result["msg"]
    # What each pod says about itself, read without the module.
    states = {f"stan-{i}": serverz_through_proxy(kube, f"stan-{i}") for i in range(3)}
    active = [name for name, z in states.items() if z["state"] == "FT_ACTIVE"]
    assert len(active) == 1, states
    assert result["active"] == active[0]
    assert result["standby"] == sorted(name for name in states if name != active[0])
    assert result["msg"] == f"exactly one server is FT_ACTIVE ({active[0]}), all others FT_STANDBY"
    assert [s["name"] for s in result["servers"]] == ["stan-0", "stan-1", "stan-2"]
    for record in result["servers"]:
        assert record["endpoint"] == f"/api/v1/namespaces/{NAMESPACE}/pods/{record['name']}:8222/proxy/streaming/serverz"
        assert record["server_id"] == states[record["name"]]["server_id"]
        assert record["error"] is None and record["version"] == "0.25.6"
    assert result["changed"] is False


def token_auth(localenv, tmp_path, token: str) -> tuple[dict, dict]:
    """(env, module options) that authenticate with this bearer token only: no kubeconfig (its client
    certificate would be accepted first), the API server's address and CA from the kubeconfig."""
    cluster = yaml.safe_load(Path(localenv["kubeconfig"]).read_text())["clusters"][0]["cluster"]
    ca = tmp_path / "ca.crt"
    ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
    env = {k: v for k, v in localenv["env"].items() if k not in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG")}
    env["KUBECONFIG"] = str(tmp_path / "no-kubeconfig")
    return env, {"k8s_host": cluster["server"], "k8s_token": token, "k8s_ca_cert": str(ca)}


def test_a_token_the_api_server_does_not_know_is_refused_with_401_naming_the_credentials(localenv, stan, tmp_path):
    token = "nsft-" + uuid.uuid4().hex
    env, auth = token_auth(localenv, tmp_path, token)
    rc, result = run_ft_status(env, statefulset="stan", **auth)
    assert rc != 0
    assert result["msg"].startswith(f"reading StatefulSet in namespace {NAMESPACE} failed: HTTP 401 Unauthorized"), \
        result["msg"]
    assert "did not accept the credentials: check api_key, kubeconfig" in result["msg"], result["msg"]
    assert token not in json.dumps(result), "api_key is no_log"


def test_a_service_account_without_rights_gets_403_and_the_rights_it_names_are_enough(localenv, kube, stan, tmp_path):
    core, rbac = client.CoreV1Api(kube), client.RbacAuthorizationV1Api(kube)
    core.create_namespaced_service_account(NAMESPACE, {"metadata": {"name": "ft-reader"}})
    token = core.create_namespaced_service_account_token(
        "ft-reader", NAMESPACE, {"spec": {"expirationSeconds": 600}}).status.token
    env, auth = token_auth(localenv, tmp_path, token)
    rc, result = run_ft_status(env, statefulset="stan", **auth)
    assert rc != 0
    assert "HTTP 403 Forbidden" in result["msg"], result["msg"]
    assert result["msg"].endswith("they need get on statefulsets, list on pods and get on pods/proxy in namespace "
                                  f"{NAMESPACE}"), result["msg"]
    assert token not in json.dumps(result)

    rbac.create_namespaced_role(NAMESPACE, {"metadata": {"name": "ft-reader"}, "rules": [
        {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
        {"apiGroups": [""], "resources": ["pods/proxy"], "verbs": ["get"]},
    ]})
    rbac.create_namespaced_role_binding(NAMESPACE, {
        "metadata": {"name": "ft-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ft-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "ft-reader", "namespace": NAMESPACE}],
    })
    deadline = time.monotonic() + 30  # the authorizer sees a new binding within moments
    while True:
        rc, result = run_ft_status(env, statefulset="stan", **auth)
        if rc == 0 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert rc == 0, result["msg"]
    assert result["active"] in ("stan-0", "stan-1", "stan-2") and len(result["standby"]) == 2


def test_an_unknown_statefulset_gets_the_api_servers_404_as_a_message_naming_the_options(localenv, stan):
    rc, result = run_ft_status(localenv["env"], statefulset="nats")
    assert rc != 0
    assert result["msg"] == f"StatefulSet nats not found in namespace {NAMESPACE}: check statefulset and namespace"


def test_a_pending_pod_and_a_pod_refusing_the_monitor_port_are_named(localenv, kube, stan):
    """Two extra pods carrying the StatefulSet's selector labels (names outside its ordinals, so the
    StatefulSet controller leaves them alone): one the scheduler cannot place, one that runs a shell
    and nothing on the monitor port."""
    labels = stan["selector"]
    make_pod(kube, "stan-pending", labels, {
        "nodeSelector": {"topology.kubernetes.io/zone": "no-such-zone"},
        "containers": [{"name": "stan", "image": STAN_IMAGE, "imagePullPolicy": "IfNotPresent"}],
    })
    make_pod(kube, "stan-refuses", labels, {
        **ON_CONTROL_PLANE,
        "containers": [{"name": "shell", "image": SHELL_IMAGE, "imagePullPolicy": "IfNotPresent",
                        "command": ["sleep", "3600"]}],
    })
    try:
        pending = wait_for_pod(kube, "stan-pending", lambda p: any(
            c.type == "PodScheduled" and c.reason == "Unschedulable" for c in p.status.conditions or []),
            "reported Unschedulable by the scheduler")
        assert pending.status.phase == "Pending"
        wait_for_pod(kube, "stan-refuses", running, "Running")

        rc, result = run_ft_status(localenv["env"], statefulset="stan")
        assert rc != 0
        by_name = {s["name"]: s for s in result["servers"]}
        assert sorted(by_name) == ["stan-0", "stan-1", "stan-2", "stan-pending", "stan-refuses"]
        assert by_name["stan-pending"]["state"] == "UNREACHABLE"
        assert by_name["stan-pending"]["error"] == "pod is Pending, not Running"
        refused = by_name["stan-refuses"]
        assert refused["state"] == "UNREACHABLE"
        assert refused["error"].startswith("pod proxy: HTTP 50"), refused
        assert "connection refused" in refused["error"], refused
        assert "stan-pending: UNREACHABLE (pod is Pending, not Running)" in result["msg"], result["msg"]
        assert "stan-refuses: UNREACHABLE (pod proxy: HTTP 50" in result["msg"], result["msg"]
        assert result["msg"].endswith("did not answer"), result["msg"]
        assert sorted(s["state"] for n, s in by_name.items() if n.startswith("stan-") and n[-1].isdigit()) == \
            ["FT_ACTIVE", "FT_STANDBY", "FT_STANDBY"]

        # Left out of the judgement on request, the StatefulSet's own pods are healthy.
        rc, result = run_ft_status(localenv["env"], statefulset="stan", ignore_unreachable=True)
        assert rc == 0, result["msg"]
        assert len(result["servers"]) == 5 and len(result["standby"]) == 2
    finally:
        delete_pods(kube, "stan-pending", "stan-refuses")


def test_two_ft_groups_behind_one_selector_fail_with_two_active_pods_named(localenv, kube, stan):
    """A second real STAN server, FT group 'other' on its own store, with the same labels."""
    make_pod(kube, "stan-other", stan["selector"], {
        **ON_CONTROL_PLANE,
        "containers": [{"name": "stan", "image": STAN_IMAGE, "imagePullPolicy": "IfNotPresent",
                        "args": ["-m", "8222", "-store", "file", "-dir", "/store", "-ft_group", "other"],
                        "volumeMounts": [{"name": "store", "mountPath": "/store"}]}],
        "volumes": [{"name": "store", "emptyDir": {}}],
    })
    try:
        wait_for_pod(kube, "stan-other", running, "Running")
        deadline = time.monotonic() + 60
        while True:
            try:
                if serverz_through_proxy(kube, "stan-other")["state"] == "FT_ACTIVE":
                    break
            except client.ApiException:
                pass  # not listening yet
            assert time.monotonic() < deadline, "stan-other did not become FT_ACTIVE within 60s"
            time.sleep(1)
        selector = ",".join(f"{k}={v}" for k, v in sorted(stan["selector"].items()))
        rc, result = run_ft_status(localenv["env"], label_selectors=[selector])
        assert rc != 0
        actives = [s for s in result["servers"] if s["state"] == "FT_ACTIVE"]
        assert len(actives) == 2 and "stan-other" in [s["name"] for s in actives], result["servers"]
        assert result["msg"].startswith("2 servers claim to be FT_ACTIVE: "), result["msg"]
        for server in actives:
            assert f"{server['name']} (server_id {server['server_id']})" in result["msg"], result["msg"]
        assert result["active"] is None
    finally:
        delete_pods(kube, "stan-other")
