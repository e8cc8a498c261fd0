"""Fixtures for the AWX-style runs: what the environment exports (KUBECONFIG, the AWS endpoint),
an EKS network in the AWS emulator, the Azure Resource Manager stand-in, and a Kubernetes bearer
token for the job (a service account, as an AWX admin would create for the credential)."""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path

import pytest

from tests.lib.arm_standin import start_standin
from tests.lib.aws_seed import seed_eks_network
from tests.lib.paths import BUILD

REGION = "us-east-2"  # the AWS survey's default region
AZURE_RG = "rg-awx"


def required_env(name: str, *alternatives: str) -> str:
    for key in (name, *alternatives):
        if os.environ.get(key):
            return os.environ[key]
    pytest.fail(f"{name} is not set: run through `tests/run.py --only awx` (it starts the local environment)")


@pytest.fixture(scope="session")
def kubeconfig() -> str:
    return required_env("KUBECONFIG")


@pytest.fixture(scope="session")
def aws_endpoint() -> str:
    return required_env("AWS_ENDPOINT_URL", "AWS_URL")


@pytest.fixture(scope="session")
def kube(kubeconfig):
    from kubernetes import config

    return config.new_client_from_config(config_file=kubeconfig)


@pytest.fixture(scope="session")
def bearer(kube, kubeconfig):
    """(host, token, CA PEM) of a cluster-admin service account, for AWX's bearer token credential."""
    from kubernetes import client, config

    core, rbac = client.CoreV1Api(kube), client.RbacAuthorizationV1Api(kube)
    name = f"nsft-awx-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_service_account("kube-system", client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name)))
    rbac.create_cluster_role_binding(client.V1ClusterRoleBinding(
        metadata=client.V1ObjectMeta(name=name),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="cluster-admin"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name=name, namespace="kube-system")],
    ))
    token = core.create_namespaced_service_account_token(
        name, "kube-system", client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
            audiences=[], expiration_seconds=7200))).status.token
    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    ca_pem = Path(cfg.ssl_ca_cert).read_text() if cfg.ssl_ca_cert else None
    try:
        yield cfg.host, token, ca_pem
    finally:
        rbac.delete_cluster_role_binding(name)
        core.delete_namespaced_service_account(name, "kube-system")


@pytest.fixture(scope="session")
def csi_drivers(kube):
    """The CSI drivers the storage roles check for, registered by the environment's CSI node stand-in."""
    from kubernetes import client

    registered = {d.metadata.name for d in client.StorageV1Api(kube).list_csi_driver().items}
    missing = {"efs.csi.aws.com", "file.csi.azure.com"} - registered
    if missing:
        pytest.fail(f"CSIDriver {sorted(missing)} not registered: the local environment's CSI node stand-in "
                    "registers them at `localenv.py up`", pytrace=False)


@pytest.fixture(scope="session")
def eks(aws_endpoint) -> dict:
    return seed_eks_network(endpoint_url=aws_endpoint, region=REGION, cluster_name=f"awx-{uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="session")
def standin():
    server = start_standin(BUILD / "logs" / "arm-standin-awx.log", resource_groups=[{"name": AZURE_RG, "location": "eastus"}])
    try:
        yield server
    finally:
        server.stop()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
