"""End-to-end fixtures: the running local environment (moto + Kubernetes control plane)."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from tests.lib.aws_seed import seed_eks_network
from tests.lib.kube import ensure_csi_driver
from tests.lib.moto import MotoRecorder
from tests.lib.paths import STATE_DIR

REGION = "us-east-2"


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


@pytest.fixture(scope="session")
def moto_recorder(localenv) -> MotoRecorder:
    return MotoRecorder(localenv["moto_url"])


@pytest.fixture(scope="module")
def eks(localenv, kube) -> dict:
    """A fresh EKS cluster's network in moto (VPC, subnets in 3 zones, node group), and the EFS CSI driver."""
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    net = seed_eks_network(endpoint_url=localenv["moto_url"], region=REGION, cluster_name=name)
    ensure_csi_driver(kube, "efs.csi.aws.com")
    return net


@pytest.fixture(scope="module")
def aws(localenv):
    def make(service):
        return boto3.client(service, endpoint_url=localenv["moto_url"], region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    return make
