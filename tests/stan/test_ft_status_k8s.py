"""stan_ft_status in Kubernetes mode: kubernetes.core's real client, a fake API server at the HTTP
boundary (tests/stan/fake_apiserver.py) whose pod proxy forwards to the three real servers.

The happy path through the real kube-apiserver's pod proxy runs in tests/e2e/test_failover_drill.py;
this stand-in covers the answers that are awkward to produce there: a rejected token, Pending and
missing pods, an unknown StatefulSet, two FT groups behind one label selector.
"""

from __future__ import annotations

import json

import pytest

from tests.lib.ansible_runner import run_playbook

from .conftest import HERE
from .fake_apiserver import FakeApiServer, FakePod

pytestmark = pytest.mark.stan

TOKEN = "fake-token-for-tests"
TASK = "Check that exactly one pod is active"


def run_k8s(api: FakeApiServer, **options) -> tuple[int, dict]:
    extra = {"k8s_host": api.url, "k8s_token": TOKEN, **{f"ft_{k}": v for k, v in options.items()}}
    play = run_playbook(HERE / "ft_status_k8s.yml", extra_vars=extra, timeout=300)
    try:
        return play.rc, play.task(TASK)
    except KeyError:
        raise AssertionError(f"module did not run (rc={play.rc}): {play.stdout[-2000:]} {play.stderr[-2000:]}")


def pods_for(cluster) -> list[FakePod]:
    return [FakePod(name=s.name, monitor_port=s.monitor_port) for s in cluster.servers]


def test_statefulset_pods_read_through_pod_proxy(stan_cluster):
    with FakeApiServer("messaging", "stan", 3, pods_for(stan_cluster), TOKEN) as api:
        rc, result = run_k8s(api, namespace="messaging", statefulset="stan")
    assert rc == 0, result["msg"]
    active = stan_cluster.active()
    assert result["active"] == active.name
    assert result["standby"] == sorted(s.name for s in stan_cluster.servers if s is not active)
    assert [s["name"] for s in result["servers"]] == ["stan-0", "stan-1", "stan-2"]
    assert result["servers"][0]["endpoint"] == "/api/v1/namespaces/messaging/pods/stan-0:8222/proxy/streaming/serverz"
    assert any(r.startswith("/api/v1/namespaces/messaging/pods?labelSelector=app%3Dstan") for r in api.requests)
    assert TOKEN not in json.dumps(result)  # api_key is no_log


def test_label_selectors_mode_and_two_active_groups(stan_binaries, stan_cluster, tmp_path):
    from tests.lib.stan import StanCluster

    other = StanCluster(tmp_path / "other", size=1, ft_group="other", prefix="other")
    try:
        other.start()
        pods = pods_for(stan_cluster) + [FakePod(name="other-0", monitor_port=other.servers[0].monitor_port)]
        with FakeApiServer("messaging", "stan", 3, pods, TOKEN) as api:
            rc, result = run_k8s(api, namespace="messaging", label_selectors=["app=stan"])
    finally:
        other.stop()
    assert rc != 0
    assert result["msg"].startswith("2 servers claim to be FT_ACTIVE: "), result["msg"]
    assert "other-0 (server_id " in result["msg"]


def test_missing_pending_and_refused_pods_are_named(stan_cluster):
    pods = [
        FakePod(name="stan-0", monitor_port=stan_cluster.servers[0].monitor_port),
        FakePod(name="stan-1", monitor_port=None),  # running pod, nothing listening on the port
        FakePod(name="stan-3", monitor_port=None, phase="Pending"),
    ]
    active_is_0 = stan_cluster.servers[0].state() == "FT_ACTIVE"
    with FakeApiServer("messaging", "stan", 3, pods, TOKEN) as api:
        rc, result = run_k8s(api, namespace="messaging", statefulset="stan")
    assert rc != 0
    by_name = {s["name"]: s for s in result["servers"]}
    assert sorted(by_name) == ["stan-0", "stan-1", "stan-2", "stan-3"]
    assert by_name["stan-2"]["state"] == "MISSING" and by_name["stan-2"]["error"] == "pod does not exist"
    assert by_name["stan-3"]["state"] == "UNREACHABLE" and by_name["stan-3"]["error"] == "pod is Pending, not Running"
    assert by_name["stan-1"]["state"] == "UNREACHABLE"
    assert by_name["stan-1"]["error"].startswith("pod proxy: HTTP 503"), by_name["stan-1"]
    assert "stan-2: MISSING (pod does not exist)" in result["msg"]
    assert by_name["stan-0"]["state"] == ("FT_ACTIVE" if active_is_0 else "FT_STANDBY")


def test_unknown_statefulset_and_bad_token_fail_clearly(stan_cluster):
    with FakeApiServer("messaging", "stan", 3, pods_for(stan_cluster), TOKEN) as api:
        rc, result = run_k8s(api, namespace="messaging", statefulset="nats")
        assert rc != 0
        assert result["msg"] == "StatefulSet nats not found in namespace messaging: check statefulset and namespace"
        api.token = "another-token"
        rc, result = run_k8s(api, namespace="messaging", statefulset="stan")
    assert rc != 0
    assert "401" in result["msg"], result["msg"]


def test_namespace_is_required_in_k8s_mode(stan_cluster):
    with FakeApiServer("messaging", "stan", 3, pods_for(stan_cluster), TOKEN) as api:
        rc, result = run_k8s(api, namespace="", statefulset="stan")
    assert rc != 0
    assert result["msg"] == "namespace is required with statefulset or label_selectors: set namespace to the STAN namespace"
