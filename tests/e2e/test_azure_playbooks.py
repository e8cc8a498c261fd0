"""playbooks/azure.yml and azure_teardown.yml end to end against the ARM stand-in and the local kind cluster.

The STAN pods run in real containers and mount the Azure Files claim (NFS, and SMB with its
secret) through the environment's CSI node stand-in; the FT check reads them all.

The ARM stand-in (tests/arm_standin) is a small stateful imitation of the Resource Manager
storage operations the modules call; no Azure emulator exists offline.
"""

from __future__ import annotations

import pytest
from kubernetes import client

from tests.lib.ansible_runner import run_playbook
from tests.lib.arm_standin import start_standin
from tests.lib.paths import BUILD, REPO

from .conftest import LOCALENV_VARS

PLAYBOOKS = REPO / "playbooks"
RG = "rg-e2e"
ACCOUNT = "nsfte2estan"
NAMESPACE = "e2e-azure"
MANAGED = "app.kubernetes.io/managed-by=nats_streaming.ft"


@pytest.fixture(scope="module")
def standin():
    server = start_standin(BUILD / "logs" / "arm-standin-e2e.log", resource_groups=[{"name": RG, "location": "eastus"}])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def subnet_id(standin) -> str:
    vnet = standin.add_virtual_network(RG, "aks-vnet", [{"name": "aks-nodes", "address_prefix": "10.224.0.0/16"}])
    return vnet["subnets"][0]


@pytest.fixture(scope="module")
def env(localenv, standin):
    return {**localenv["env"], **standin.env()}


def base_vars(subnet_id: str) -> dict:
    return {"resource_group": RG, "storage_account": ACCOUNT, "location": "eastus", "aks_subnet_ids": [subnet_id],
            "k8s_namespace": NAMESPACE, "verify_ft": True, **LOCALENV_VARS}


def our_objects(kube) -> list[str]:
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    found = [f"StatefulSet/{o.metadata.name}" for o in apps.list_namespaced_stateful_set(NAMESPACE, label_selector=MANAGED).items]
    found += [f"Service/{o.metadata.name}" for o in core.list_namespaced_service(NAMESPACE, label_selector=MANAGED).items]
    found += [f"ConfigMap/{o.metadata.name}" for o in core.list_namespaced_config_map(NAMESPACE, label_selector=MANAGED).items]
    found += [f"Secret/{o.metadata.name}" for o in core.list_namespaced_secret(NAMESPACE, label_selector=MANAGED).items]
    found += [f"PersistentVolumeClaim/{o.metadata.name}" for o in core.list_namespaced_persistent_volume_claim(NAMESPACE).items]
    found += [f"PersistentVolume/{pv.metadata.name}" for pv in core.list_persistent_volume().items
              if pv.spec.claim_ref and pv.spec.claim_ref.namespace == NAMESPACE]
    return sorted(found)


def test_azure_playbook_converges_on_real_pods_verifies_ft_then_reruns_with_no_change_and_no_arm_write(
        standin, subnet_id, env, kube):
    first = run_playbook(PLAYBOOKS / "azure.yml", extra_vars=base_vars(subnet_id), env=env)
    assert first.rc == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert first.changed > 0
    account = first.task("Ensure the storage account, reachable only from the AKS subnets")["storage_account"]
    assert account["network_rules"]["default_action"] == "Deny"
    assert [r.lower() for r in account["network_rules"]["virtual_network_subnet_ids"]] == [subnet_id.lower()]
    assert account["https_only"] is False  # NFS clients cannot mount otherwise
    share = first.task("Ensure the file share")["share"]
    assert share["protocol"] == "NFS" and share["root_squash"] == "NoRootSquash"
    pvc = client.CoreV1Api(kube).read_namespaced_persistent_volume_claim("stan-store", NAMESPACE)
    assert pvc.status.phase == "Bound" and pvc.spec.access_modes == ["ReadWriteMany"]
    sts = client.AppsV1Api(kube).read_namespaced_stateful_set("stan", NAMESPACE)
    assert sts.spec.replicas == 3 and not sts.spec.volume_claim_templates
    assert (sts.status.ready_replicas or 0) == 3
    ft = first.task("Verify that exactly one server is FT active")
    assert len(ft["standby"]) == 2 and {s["state"] for s in ft["servers"]} == {"FT_ACTIVE", "FT_STANDBY"}

    standin.clear_requests()
    second = run_playbook(PLAYBOOKS / "azure.yml", extra_vars=base_vars(subnet_id), env=env)
    assert second.rc == 0, second.stdout[-4000:]
    assert second.changed == 0, [t["name"] for t in second.tasks if t["result"].get("changed")]
    assert standin.requests(), "the stand-in saw no request: the measurement is broken"
    assert standin.writes() == []


def test_azure_teardown_keeps_the_share_without_delete_data(standin, subnet_id, env, kube):
    result = run_playbook(PLAYBOOKS / "azure_teardown.yml",
                          extra_vars={"resource_group": RG, "storage_account": ACCOUNT, "k8s_namespace": NAMESPACE}, env=env)
    assert result.rc == 0, result.stdout[-4000:]
    standin.clear_requests()
    check = run_playbook(PLAYBOOKS / "azure.yml", extra_vars=base_vars(subnet_id), env=env, check=True)
    share_task = check.task("Ensure the file share")
    assert share_task.get("changed") is False, share_task  # the share is still there, unchanged
    assert not [o for o in our_objects(kube) if o.startswith(("StatefulSet/", "Service/", "ConfigMap/"))]
    assert "PersistentVolumeClaim/stan-store" in our_objects(kube)


def test_azure_teardown_with_delete_data_leaves_nothing_of_ours(standin, subnet_id, env, kube):
    result = run_playbook(PLAYBOOKS / "azure_teardown.yml",
                          extra_vars={"resource_group": RG, "storage_account": ACCOUNT, "k8s_namespace": NAMESPACE,
                                      "delete_data": True}, env=env)
    assert result.rc == 0, result.stdout[-4000:]
    assert our_objects(kube) == []
    check = run_playbook(PLAYBOOKS / "azure.yml", extra_vars=base_vars(subnet_id), env=env, check=True)
    account_task = check.task("Ensure the storage account, reachable only from the AKS subnets")
    assert account_task.get("changed") is True  # it would have to be created again


@pytest.mark.parametrize(
    ("override", "variable"),
    [({"storage_account": "Bad_Name"}, "storage_account"), ({"stan_replicas": 1}, "stan_replicas"),
     ({"protocol": "cifs"}, "protocol"), ({"deploy_nats": True, "nats_url": "nats://mine:4222"}, "deploy_nats")],
)
def test_azure_wrong_input_fails_while_validating(standin, subnet_id, env, override, variable):
    result = run_playbook(PLAYBOOKS / "azure.yml", extra_vars={**base_vars(subnet_id), **override}, env=env)
    assert result.rc != 0
    failed = [t for t in result.tasks if t["result"].get("failed")]
    assert failed and failed[0]["name"] == "Validate inputs"
    message = failed[0]["result"]["msg"]
    assert variable in message
    others = {"storage_account", "stan_replicas", "protocol", "resource_group", "location"} - {variable}
    assert not [name for name in others if name in message], message  # names only what is wrong


SMB_ACCOUNT = "nsfte2esmb"
SMB_NAMESPACE = "e2e-azure-smb"


def test_azure_playbook_with_smb_verifies_ft_on_real_pods_at_vvv_never_shows_the_account_key_and_reruns_unchanged(
        standin, subnet_id, env, kube):
    """SMB end to end: the pods mount the share with the Secret's key (the stand-in's node side
    stages it as the real driver does) and FT holds. The account task has no no_log any more (its
    failures are readable); the key task alone hides its result."""
    import base64

    extra = {**base_vars(subnet_id), "storage_account": SMB_ACCOUNT, "k8s_namespace": SMB_NAMESPACE, "protocol": "smb"}
    result = run_playbook(PLAYBOOKS / "azure.yml", extra_vars=extra, env=env, args=["-vvv"])
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
    keys = standin.issued_keys()
    assert keys, "the stand-in issued no keys: the test would prove nothing"
    secrets = client.CoreV1Api(kube).list_namespaced_secret(SMB_NAMESPACE, label_selector=MANAGED).items
    stored = {base64.b64decode(s.data["azurestorageaccountkey"]).decode() for s in secrets if s.data and
              "azurestorageaccountkey" in s.data}
    assert stored and stored <= set(keys), "the key did not reach the Secret"
    ft = result.task("Verify that exactly one server is FT active")
    assert len(ft["standby"]) == 2 and {s["state"] for s in ft["servers"]} == {"FT_ACTIVE", "FT_STANDBY"}
    for key in keys:
        for form in (key, base64.b64encode(key.encode()).decode()):
            assert form not in result.stdout and form not in result.stderr, "an account key appeared in the -vvv output"
    rerun = run_playbook(PLAYBOOKS / "azure.yml", extra_vars=extra, env=env)
    assert rerun.rc == 0, rerun.stdout[-4000:] + rerun.stderr[-2000:]
    assert rerun.changed == 0, [t["name"] for t in rerun.tasks if t["result"].get("changed")]
    assert not any(key in rerun.stdout for key in keys), "an account key appeared in the rerun's output"
    teardown = run_playbook(PLAYBOOKS / "azure_teardown.yml", env=env, extra_vars={
        "resource_group": RG, "storage_account": SMB_ACCOUNT, "k8s_namespace": SMB_NAMESPACE, "delete_data": True})
    assert teardown.rc == 0, teardown.stdout[-4000:]


NATS_ACCOUNT = "nsfte2enats"
NATS_NAMESPACE = "e2e-azure-nats"


def test_azure_playbook_with_its_own_nats_cluster_runs_stan_in_external_nats_mode_with_ft_and_a_lossless_failover(
        standin, subnet_id, env, kube):
    """The guide's Azure path: a NATS cluster first (here the nats_jetstream role with JetStream off,
    deploy_nats: true), STAN against it in external-NATS mode; the FT check passes and the failover
    drill (in-cluster Jobs through the NATS Service) loses nothing."""
    extra = {**base_vars(subnet_id), "storage_account": NATS_ACCOUNT, "k8s_namespace": NATS_NAMESPACE,
             "deploy_nats": True}
    result = run_playbook(PLAYBOOKS / "azure.yml", extra_vars=extra, env=env)
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
    apps = client.AppsV1Api(kube)
    nats = apps.read_namespaced_stateful_set("nats", NATS_NAMESPACE)
    assert (nats.status.ready_replicas or 0) == nats.spec.replicas == 3
    conf = client.CoreV1Api(kube).list_namespaced_config_map(NATS_NAMESPACE, label_selector=MANAGED).items
    stan_conf = next(c.data["stan.conf"] for c in conf if "stan.conf" in (c.data or {}))
    assert "nats://nats:4222" in stan_conf  # external NATS, not the embedded server
    ft = result.task("Verify that exactly one server is FT active")
    assert len(ft["standby"]) == 2 and {s["state"] for s in ft["servers"]} == {"FT_ACTIVE", "FT_STANDBY"}

    drill = run_playbook(PLAYBOOKS / "failover_drill.yml", env=env, timeout=900, extra_vars={
        "stan_namespace": NATS_NAMESPACE, "stan_name": "stan", "drill_nats_url": f"nats://nats.{NATS_NAMESPACE}.svc:4222",
        "drill_messages_before": 10, "drill_messages_after": 10})
    assert drill.rc == 0, drill.stdout[-5000:]
    report = drill.task("Report the drill")["msg"]
    assert report[2] == "messages: 10 before + 10 after = 20 received, 0 lost", report
    assert not report[0].startswith(f"failover: {ft['active']} deleted, {ft['active']} ")

    teardown = run_playbook(PLAYBOOKS / "azure_teardown.yml", env=env, extra_vars={
        "resource_group": RG, "storage_account": NATS_ACCOUNT, "k8s_namespace": NATS_NAMESPACE, "delete_data": True,
        "deploy_nats": True})
    assert teardown.rc == 0, teardown.stdout[-4000:]
    assert apps.list_namespaced_stateful_set(NATS_NAMESPACE).items == []
