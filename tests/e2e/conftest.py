"""End-to-end fixtures: the running local environment (moto + a kind cluster with real pods).

Run through `localenv.py run --` (tests/run.py does): this process is then in the network
namespace that reaches the cluster, with its KUBECONFIG and AWS endpoint variables.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from tests.lib.ansible_runner import run_playbook
from tests.lib.aws_seed import seed_eks_network
from tests.lib.moto import MotoRecorder
from tests.lib.paths import REPO, STATE_DIR

REGION = "us-east-2"
# What the local environment cannot run: the metrics sidecar (prometheus-nats-exporter v0.16.0,
# the last with STAN metrics, cannot be fetched from the Go module proxy here, so there is no
# image of it). Every playbook run against the local environment passes these; nothing else of
# the role's manifests is changed.
LOCALENV_VARS = {"stan_exporter_enabled": False}


@pytest.fixture(scope="session")
def localenv() -> dict:
    path = STATE_DIR / "env.json"
    if not path.exists():
        pytest.fail("the local environment is not up: run `python tests/localenv/localenv.py up` (or `make env-up`)")
    state = json.loads(path.read_text())
    from tests.localenv.localenv import env_exports

    state["env"] = env_exports(state)
    return state


@pytest.fixture(scope="session")
def kube(localenv):
    from kubernetes import config

    return config.new_client_from_config(config_file=localenv["kubeconfig"])


@pytest.fixture
def namespace(kube, request):
    """A namespace name for one test (prefixed by its module's NAMESPACE_PREFIX), deleted after it."""
    from kubernetes import client

    name = f"{getattr(request.module, 'NAMESPACE_PREFIX', 'e2e')}-{uuid.uuid4().hex[:6]}"
    yield name
    try:
        client.CoreV1Api(kube).delete_namespace(name)
    except client.ApiException as exc:
        if exc.status not in (404, 409):  # never made, or already being deleted
            raise


@pytest.fixture(scope="session")
def moto_recorder(localenv) -> MotoRecorder:
    return MotoRecorder(localenv["moto_url"])


@pytest.fixture(scope="module")
def eks(localenv, kube) -> dict:
    """A fresh EKS cluster's network in moto (VPC, subnets in 3 zones, node group). The EFS CSI driver
    (its node side: the environment's stand-in) is registered in the cluster already."""
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    return seed_eks_network(endpoint_url=localenv["moto_url"], region=REGION, cluster_name=name)


@pytest.fixture(scope="module")
def aws(localenv):
    def make(service):
        return boto3.client(service, endpoint_url=localenv["moto_url"], region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    return make


@pytest.fixture(scope="session")
def ft_stan(localenv, kube) -> dict:
    """The StatefulSet that aws.yml deploys (3 replicas, one per worker, the defaults but
    LOCALENV_VARS), deployed once for the failover drill and the fault tests, and removed with its
    data at the end of the session. Each of them leaves the FT group whole for the next."""
    from kubernetes import client

    name = f"e2e-ft-{uuid.uuid4().hex[:6]}"
    eks = seed_eks_network(endpoint_url=localenv["moto_url"], region=REGION, cluster_name=name)
    extra = {"cluster_name": name, "aws_region": REGION, "k8s_namespace": name}
    play = run_playbook(REPO / "playbooks" / "aws.yml", extra_vars={**extra, "verify_ft": True, **LOCALENV_VARS},
                        env=localenv["env"])
    try:
        failed = [(t["name"], t["result"].get("msg")) for t in play.tasks if t["result"].get("failed")]
        assert play.rc == 0, f"aws.yml failed (rc {play.rc}): {failed}\n{play.stderr[-2000:]}"
        yield {"namespace": name, "eks": eks, "play": play, "vars": LOCALENV_VARS}
    finally:
        down = run_playbook(REPO / "playbooks" / "aws_teardown.yml", extra_vars={**extra, "delete_data": True},
                            env=localenv["env"])
        if down.rc != 0:
            print(f"aws_teardown.yml failed (rc={down.rc}): {down.stdout[-3000:]}")
        try:
            client.CoreV1Api(kube).delete_namespace(name, propagation_policy="Background")
        except client.ApiException as exc:
            if exc.status != 404:
                raise
