"""aws.yml, azure.yml and status.yml run as AWX runs job templates (tests/awx/awx.py): through
ansible-runner, the survey's defaults plus the required answers as extra vars, and credentials
injected the way AWX's credential types inject them. A rerun changes nothing; every survey
question reaches a check in the playbook's first task, and a wrong answer fails there before
anything is made.
"""

from __future__ import annotations

import uuid

import boto3
import pytest
from kubernetes import client

from tests.awx.awx import (
    aws_credential,
    azure_rm_credential,
    kubernetes_bearer_token_credential,
    run_job,
    survey,
    survey_extra_vars,
)

from .conftest import AZURE_RG, REGION

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}
# An STS credential: AWX injects its token as AWS_SECURITY_TOKEN.
AWS_KEYS = ("AKIAAWXTESTING", "awx-secret", "awx-sts-token")
VALIDATION_TASKS = {"aws": "Validate inputs - values", "azure": "Validate inputs", "status": "Validate inputs"}
# The job templates' own extra variables (AWX merges the survey answers over them), for what the
# local environment cannot run: the exporter image (prometheus-nats-exporter 0.16.0 cannot be
# fetched or built here, so its sidecar could never start).
TEMPLATE_VARS = {"stan_exporter_enabled": False}


def explain(job) -> str:
    failed = job.failed_tasks
    last = failed[-1] if failed else {}
    return f"rc={job.rc} status={job.status} failed task={last.get('task')} result={str(last.get('res'))[:3000]}\n{job.stdout[-3000:]}"


def wait_for_pods(kube, namespace: str, count: int, timeout: float = 120) -> list:
    import time

    core = client.CoreV1Api(kube)
    deadline = time.monotonic() + timeout
    while True:
        pods = core.list_namespaced_pod(namespace, label_selector="app=stan").items
        if len(pods) >= count or time.monotonic() > deadline:
            return pods
        time.sleep(2)


def make_namespace(kube, prefix: str, labels: dict | None = None) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api(kube).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))
    return name


@pytest.fixture(scope="module")
def aws_job(eks, aws_endpoint, bearer, csi_drivers, kube, tmp_path_factory):
    """A runner for aws.yml jobs with AWX's AWS and bearer-token credentials."""
    def run(answers: dict, monkeypatch):
        data = tmp_path_factory.mktemp("awx-aws")
        creds = {**aws_credential(*AWS_KEYS), **kubernetes_bearer_token_credential(data, *bearer)}
        extra = {**TEMPLATE_VARS, **survey_extra_vars(survey("aws"), {"cluster_name": eks["cluster_name"], **answers})}
        return run_job("playbooks/aws.yml", extra, creds, data, endpoints={"AWS_ENDPOINT_URL": aws_endpoint, "AWS_URL": aws_endpoint},
                       monkeypatch=monkeypatch)
    return run


@pytest.fixture(scope="module")
def azure_job(standin, bearer, csi_drivers, tmp_path_factory):
    def run(answers: dict, monkeypatch):
        data = tmp_path_factory.mktemp("awx-azure")
        creds = {**azure_rm_credential(standin.subscription_id, standin.client_id, standin.client_secret, standin.tenant_id,
                                       cloud_environment=standin.url),
                 **kubernetes_bearer_token_credential(data, *bearer)}
        required = {"resource_group": AZURE_RG, "storage_account": f"awx{uuid.uuid4().hex[:10]}"}
        extra = {**TEMPLATE_VARS, **survey_extra_vars(survey("azure"), {**required, **answers})}
        # The stand-in's CA: an execution environment would carry a private cloud's CA in its trust store.
        endpoints = {"AZURE_CA_BUNDLE": str(standin.ca_path), "NO_PROXY": "127.0.0.1,localhost"}
        return run_job("playbooks/azure.yml", extra, creds, data, endpoints=endpoints, monkeypatch=monkeypatch)
    return run


@pytest.fixture(scope="module")
def status_job(bearer, tmp_path_factory):
    def run(answers: dict, monkeypatch):
        data = tmp_path_factory.mktemp("awx-status")
        extra = survey_extra_vars(survey("status"), answers)
        return run_job("playbooks/status.yml", extra, kubernetes_bearer_token_credential(data, *bearer), data,
                       monkeypatch=monkeypatch)
    return run


def test_aws_job_with_survey_defaults_converges_under_restricted_then_reruns_unchanged(
        aws_job, eks, aws_endpoint, kube, monkeypatch):
    # Pod Security "restricted" is enforced in the namespace: the access point path must need no root.
    namespace = make_namespace(kube, "awx-aws", RESTRICTED)
    answers = {"k8s_namespace": namespace}
    first = aws_job(answers, monkeypatch)
    assert first.rc == 0 and first.status == "successful", explain(first)
    assert first.changed > 0

    efs = boto3.client("efs", region_name=REGION, endpoint_url=aws_endpoint, aws_access_key_id="x", aws_secret_access_key="x")
    fs_id = first.task_result("Ensure the EFS filesystem")["id"]
    points = efs.describe_access_points(FileSystemId=fs_id)["AccessPoints"]
    assert [(p["PosixUser"]["Uid"], p["RootDirectory"]["Path"]) for p in points] == [(1000, f"/{namespace}-efs")]
    pv = next(v for v in client.CoreV1Api(kube).list_persistent_volume().items
              if v.spec.claim_ref and v.spec.claim_ref.namespace == namespace)
    assert pv.spec.csi.volume_handle == f"{fs_id}::{points[0]['AccessPointId']}"
    sts = client.AppsV1Api(kube).read_namespaced_stateful_set("stan", namespace)
    assert not sts.spec.template.spec.init_containers
    # Every pod was admitted under "restricted" (a rejected pod never exists; the controller only
    # records FailedCreate events), ran as the access point's user, and the FT check passed.
    pods = wait_for_pods(kube, namespace, 3)
    assert sorted(p.metadata.name for p in pods) == ["stan-0", "stan-1", "stan-2"]
    ft = first.task_result("Verify that exactly one server is FT active")
    assert len(ft["standby"]) == 2, ft
    failed_creates = client.CoreV1Api(kube).list_namespaced_event(namespace, field_selector="reason=FailedCreate").items
    assert not failed_creates, [e.message for e in failed_creates]

    second = aws_job(answers, monkeypatch)
    assert second.rc == 0, explain(second)
    assert second.changed == 0, [e["event_data"]["task"] for e in second.events
                                 if e.get("event") == "runner_on_ok" and e["event_data"]["res"].get("changed")]


def test_azure_job_with_survey_defaults_converges_then_reruns_unchanged(azure_job, kube, monkeypatch):
    namespace = make_namespace(kube, "awx-azure")
    answers = {"k8s_namespace": namespace}
    first = azure_job(answers, monkeypatch)
    assert first.rc == 0 and first.status == "successful", explain(first)
    assert first.task_result("Ensure the file share")["share"]["protocol"] == "NFS"  # the survey's default
    # NFS keeps the root init container (no identity mapping on Azure Files NFS).
    sts = client.AppsV1Api(kube).read_namespaced_stateful_set("stan", namespace)
    assert [c.name for c in sts.spec.template.spec.init_containers] == ["store-permissions"]

    extra = first.events  # same answers again, incl. the generated account name
    account = next(e["event_data"]["res"]["storage_account"]["name"] for e in extra
                   if e.get("event") == "runner_on_ok" and e["event_data"].get("task") == "Ensure the storage account, reachable only from the AKS subnets")
    second = azure_job({**answers, "storage_account": account}, monkeypatch)
    assert second.rc == 0, explain(second)
    assert second.changed == 0, [e["event_data"]["task"] for e in second.events
                                 if e.get("event") == "runner_on_ok" and e["event_data"]["res"].get("changed")]


def test_status_job_reports_the_deployed_cluster(azure_job, status_job, kube, monkeypatch):
    namespace = make_namespace(kube, "awx-status")
    deployed = azure_job({"k8s_namespace": namespace}, monkeypatch)
    assert deployed.rc == 0, explain(deployed)
    job = status_job({"k8s_namespace": namespace, "claim_name": "stan-store"}, monkeypatch)
    assert job.rc == 0 and job.status == "successful", explain(job)
    report = job.task_result("Status")["msg"]
    assert report[0].startswith("FT: exactly one server is FT_ACTIVE"), report
    assert report[2] == f"Claim {namespace}/stan-store: Bound", report
    assert job.changed == 0


# One wrong answer per survey question, each accepted by AWX's own survey checks (type, length,
# range, choices) where the survey can express the rule, so only the playbook can refuse it.
WRONG_ANSWERS = {
    "aws": {
        "cluster_name": "-starts-with-dash", "aws_region": "mars-north-1", "k8s_namespace": "Not_A_Namespace",
        "storage_mode": "nfs", "efs_access_point": "maybe", "stan_replicas": 1, "stan_cluster_id": "has.dots",
        "verify_ft": "perhaps", "deploy_nats": "sometimes",
    },
    "azure": {
        "resource_group": "bad group!", "storage_account": "Not-Valid", "location": "East US", "protocol": "cifs",
        "share_quota": 50, "k8s_namespace": "Not_A_Namespace", "nats_url": "http://nats:4222", "stan_replicas": 1,
        "deploy_nats": "sometimes",
    },
    "status": {"k8s_namespace": "Not_A_Namespace", "stan_name": "Bad_Name", "claim_name": "Bad_Claim"},
}


def test_every_survey_question_has_a_wrong_answer_here():
    for name, wrong in WRONG_ANSWERS.items():
        assert set(wrong) == {q["variable"] for q in survey(name)["spec"]}, name


@pytest.mark.parametrize("playbook, question", [(p, q) for p, answers in WRONG_ANSWERS.items() for q in answers])
def test_a_wrong_survey_answer_fails_in_the_validation_block_naming_it(
        playbook, question, aws_job, azure_job, status_job, eks, aws_endpoint, monkeypatch):
    runner = {"aws": aws_job, "azure": azure_job, "status": status_job}[playbook]
    answers = {"k8s_namespace": "awx-wrong"} if question != "k8s_namespace" else {}
    answers[question] = WRONG_ANSWERS[playbook][question]
    job = runner(answers, monkeypatch)
    assert job.rc != 0 and job.status == "failed"
    failed = job.failed_tasks
    assert [f["task"] for f in failed] == [VALIDATION_TASKS[playbook]], explain(job)
    assert question in failed[0]["res"]["msg"], failed[0]["res"]["msg"]
    # Nothing was made: no task after the validation ran.
    ran = [e["event_data"]["task"] for e in job.events if e.get("event") in ("runner_on_ok", "runner_on_failed")]
    assert ran == [VALIDATION_TASKS[playbook]], ran
