"""nats_streaming.ft.k8s_object_set against the real kube-apiserver of the local environment.

Each test drives the module through ansible-playbook and counts its requests in the API
server's audit log: creation, a rerun that sends no write request at all, check mode that
predicts exactly what the real run does (objects and diff), fields dropped from the desired
object, values the server rewrites, checks and refused input that leave nothing written,
Secret values that never reach the output, and deletion.
"""

from __future__ import annotations

import base64
import datetime
import json
import uuid

import pytest
from kubernetes import client

from tests.lib.ansible_runner import run_playbook
from tests.lib.kube import ANSIBLE_AGENT, AuditLog, count_kube

NAMESPACE_PREFIX = "kos"  # of the conftest namespace fixture


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@pytest.fixture
def apply(localenv, tmp_path):
    """Run one k8s_object_set task; returns (PlayResult, task result, write requests, all requests by verb)."""
    audit = AuditLog(localenv["audit_log"])

    def run(check: bool = False, diff: bool = True, args: list[str] | None = None, no_log: bool = False, **module_args):
        playbook = tmp_path / f"play-{uuid.uuid4().hex[:6]}.json"
        task = {"name": "Apply the set", "nats_streaming.ft.k8s_object_set": module_args, "no_log": no_log}
        playbook.write_text(json.dumps([{"name": "k8s_object_set", "hosts": "localhost", "gather_facts": False, "tasks": [task]}]))
        start = now()
        play = run_playbook(playbook, env=localenv["env"], check=check, diff=diff, args=args)
        verbs, writes = count_kube(audit.events(start, now(), ANSIBLE_AGENT))
        return play, play.task("Apply the set"), writes, verbs

    return run


def config_map(namespace: str, name: str = "settings", **data) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace, "labels": {"app": "kos"}},
            "data": data or {"mode": "ft"}}


def service(namespace: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kos", "namespace": namespace},
            "spec": {"clusterIP": "None", "selector": {"app": "kos"}, "ports": [{"name": "client", "port": 4222}]}}


def limit_range(namespace: str, cpu: str) -> dict:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits", "namespace": namespace},
            "spec": {"limits": [{"type": "Container", "default": {"cpu": cpu}}]}}


def actions(result: dict) -> list[tuple[str, str, str]]:
    return [(o["kind"], o["name"], o["action"]) for o in result["objects"]]


def test_create_then_rerun_sends_no_write_request(apply, namespace, kube):
    objects = [config_map(namespace), service(namespace), limit_range(namespace, "500m")]
    play, first, writes, _verbs = apply(objects=objects, namespace=namespace, create_namespace=True)
    assert play.rc == 0, first
    assert first["changed"] is True
    assert actions(first) == [("Namespace", namespace, "created"), ("ConfigMap", "settings", "created"),
                              ("Service", "kos", "created"), ("LimitRange", "limits", "created")]
    assert len(writes) == 4  # the namespace and three objects, nothing twice
    assert client.CoreV1Api(kube).read_namespaced_config_map("settings", namespace).data == {"mode": "ft"}

    play, second, writes, verbs = apply(objects=objects, namespace=namespace, create_namespace=True)
    assert play.rc == 0 and second["changed"] is False, second
    assert {a for _k, _n, a in actions(second)} == {"unchanged"}
    assert writes == [], writes
    assert "patch (dry-run)" not in verbs, verbs  # decided from the live objects alone
    assert sum(verbs.values()) > 0, "the audit log saw nothing: the measurement is broken"


def test_check_mode_predicts_exactly_what_the_real_run_does(apply, namespace):
    assert apply(objects=[config_map(namespace), service(namespace)], namespace=namespace, create_namespace=True)[0].rc == 0
    changed = [config_map(namespace, mode="ft", replicas="3"), service(namespace), config_map(namespace, "extra")]
    play, predicted, writes, verbs = apply(check=True, objects=changed, namespace=namespace)
    assert play.rc == 0 and writes == [], writes
    assert verbs.get("patch (dry-run)", 0) >= 2  # the update and the creation were dry-run
    play, real, _writes, _verbs = apply(objects=changed, namespace=namespace)
    assert play.rc == 0
    assert actions(predicted) == actions(real) == [("ConfigMap", "settings", "updated"), ("Service", "kos", "unchanged"),
                                                   ("ConfigMap", "extra", "created")]
    assert predicted["changed"] is real["changed"] is True
    assert predicted["diff"] == real["diff"]
    assert real["diff"][0]["before"]["data"] == {"mode": "ft"}
    assert real["diff"][0]["after"]["data"] == {"mode": "ft", "replicas": "3"}


def test_a_field_dropped_from_the_desired_object_is_removed(apply, namespace, kube):
    full = service(namespace)
    full["spec"]["publishNotReadyAddresses"] = True
    assert apply(objects=[full], namespace=namespace, create_namespace=True)[0].rc == 0
    play, result, writes, verbs = apply(objects=[service(namespace)], namespace=namespace)
    assert play.rc == 0 and actions(result) == [("Service", "kos", "updated")]
    assert verbs.get("patch (dry-run)") == 1 and len(writes) == 1
    assert not client.CoreV1Api(kube).read_namespaced_service("kos", namespace).spec.publish_not_ready_addresses


def test_a_value_the_server_rewrites_costs_a_dry_run_never_a_write(apply, namespace, kube):
    objects = [limit_range(namespace, "0.5")]  # stored as 500m
    assert apply(objects=objects, namespace=namespace, create_namespace=True)[0].rc == 0
    assert client.CoreV1Api(kube).read_namespaced_limit_range("limits", namespace).spec.limits[0].default == {"cpu": "500m"}
    play, result, writes, verbs = apply(objects=objects, namespace=namespace)
    assert play.rc == 0 and result["changed"] is False
    assert writes == [] and verbs.get("patch (dry-run)") == 1


def test_a_failed_check_writes_nothing_not_even_the_namespace(apply, namespace, kube):
    checks = [{"api_version": "storage.k8s.io/v1", "kind": "CSIDriver", "name": "missing.csi.example.com", "exists": True,
               "msg": "no CSI driver missing.csi.example.com"},
              {"nodes": {"at_least": 50}, "msg": "need {at_least} nodes, {count} usable: {nodes}"}]
    play, result, writes, _verbs = apply(objects=[config_map(namespace)], namespace=namespace, create_namespace=True, checks=checks)
    assert play.rc != 0
    assert result["msg"].startswith("no CSI driver missing.csi.example.com need 50 nodes, ")
    assert " usable: " in result["msg"] and "{count}" not in result["msg"]
    assert writes == []
    with pytest.raises(client.ApiException):
        client.CoreV1Api(kube).read_namespace(namespace)


def test_input_the_api_server_refuses_fails_in_the_dry_run_before_any_write(apply, namespace, kube):
    assert apply(objects=[], namespace=namespace, create_namespace=True)[0].rc == 0
    bad = config_map(namespace, "broken")
    bad["metadata"]["labels"] = {"app": "not a valid label value!"}
    play, result, writes, _verbs = apply(objects=[config_map(namespace), bad], namespace=namespace)
    assert play.rc != 0
    assert "ConfigMap " + namespace + "/broken" in result["msg"] and "dry run (nothing was written)" in result["msg"], result["msg"]
    assert writes == []
    assert client.CoreV1Api(kube).list_namespaced_config_map(namespace, label_selector="app=kos").items == []


@pytest.mark.parametrize("bad, fragment", [
    ({"kind": "ConfigMap", "metadata": {"name": "x"}}, "objects[0] (ConfigMap) has no apiVersion."),
    ({"apiVersion": "example.com/v1", "kind": "NoSuchKind", "metadata": {"name": "x"}}, "does not serve kind NoSuchKind"),
])
def test_bad_objects_fail_with_a_message_naming_them(apply, namespace, bad, fragment):
    play, result, writes, _verbs = apply(objects=[bad], namespace=namespace, create_namespace=True)
    assert play.rc != 0 and fragment in result["msg"], result["msg"]
    assert writes == []


def test_secret_values_never_reach_the_output_even_without_no_log(apply, namespace):
    key = "not-a-real-key-" + uuid.uuid4().hex
    encoded = base64.b64encode(key.encode()).decode()
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": namespace},
              "type": "Opaque", "data": {"azurestorageaccountkey": encoded}}
    play, result, _writes, _verbs = apply(objects=[secret], namespace=namespace, create_namespace=True, args=["-vvv"])
    assert play.rc == 0 and result["changed"] is True
    output = play.stdout + play.stderr
    assert len(output) > 5000, "expected verbose output"
    assert key not in output and encoded not in output
    assert result["diff"][-1]["after"]["data"] == {"azurestorageaccountkey": "<redacted: Secret data is never shown>"}


def test_absent_deletes_waits_and_then_reports_absent(apply, namespace, kube):
    objects = [config_map(namespace), service(namespace)]
    assert apply(objects=objects, namespace=namespace, create_namespace=True)[0].rc == 0
    play, result, writes, _verbs = apply(state="absent", objects=objects, namespace=namespace, wait=True, wait_timeout=60)
    assert play.rc == 0 and actions(result) == [("Service", "kos", "deleted"), ("ConfigMap", "settings", "deleted")]
    assert [w["verb"] for w in writes] == ["delete", "delete"]
    assert client.CoreV1Api(kube).list_namespaced_config_map(namespace, label_selector="app=kos").items == []
    play, again, writes, _verbs = apply(state="absent", objects=objects, namespace=namespace, wait=True)
    assert play.rc == 0 and again["changed"] is False and writes == []
    assert {a for _k, _n, a in actions(again)} == {"absent"}


def test_wait_follows_a_claim_until_it_is_bound(apply, namespace, kube):
    volume = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"{namespace}-pv"},
              "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteMany"], "storageClassName": "",
                       "persistentVolumeReclaimPolicy": "Retain", "hostPath": {"path": "/tmp/kos"},
                       "claimRef": {"namespace": namespace, "name": "data"}}}
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": namespace},
             "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": f"{namespace}-pv",
                      "resources": {"requests": {"storage": "1Gi"}}}}
    try:
        play, result, _writes, _verbs = apply(objects=[volume, claim], namespace=namespace, create_namespace=True, wait=True,
                                              wait_timeout=120)
        assert play.rc == 0, result
        assert client.CoreV1Api(kube).read_namespaced_persistent_volume_claim("data", namespace).status.phase == "Bound"
    finally:
        client.CoreV1Api(kube).delete_persistent_volume(f"{namespace}-pv")
