"""The STAN pod of each storage path against Pod Security "restricted", on a real API server.

The pods are the StatefulSet pod templates the `stan` role renders for each path (see
tests/roles/scans/cases.py), created as Pods in a namespace labelled
pod-security.kubernetes.io/enforce=restricted. Admission decides: the access-point (EFS) and SMB
(Azure Files) paths need no root init container and are accepted; the root-init path (the whole
EFS file system, Azure Files NFS) is rejected by the PodSecurity admission plugin.

Needs only KUBECONFIG (run it through `tests/run.py --only podsecurity`, which starts the local
environment, or against any cluster with `localenv.py run -- pytest tests/podsecurity`).
"""

from __future__ import annotations

import json
import os
import uuid

import pytest

from tests.roles.rendering import render_cases
from tests.roles.scans.cases import STAN_PATHS

ENFORCE = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}


@pytest.fixture(scope="module")
def api():
    if not os.environ.get("KUBECONFIG"):
        pytest.fail("KUBECONFIG is not set: run through `tests/run.py --only podsecurity` or `localenv.py run -- ...`")
    from kubernetes import config

    return config.new_client_from_config(config_file=os.environ["KUBECONFIG"])


@pytest.fixture(scope="module")
def restricted_namespace(api):
    from kubernetes import client

    core = client.CoreV1Api(api)
    name = f"psa-restricted-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=ENFORCE)))
    try:
        yield name
    finally:
        core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture(scope="module")
def pod_templates(tmp_path_factory) -> dict[str, dict]:
    results, play = render_cases(STAN_PATHS, tmp_path_factory.mktemp("psa"))
    templates = {}
    for path, result in results.items():
        assert not result["failed"], f"{path}: {result}\n{play.stderr[-2000:]}"
        sts = next(m for m in result["manifests"] if m["kind"] == "StatefulSet")
        templates[path] = sts["spec"]["template"]
    return templates


def create_pod(api, namespace: str, name: str, template: dict):
    from kubernetes import client

    body = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": template["metadata"]["labels"]},
            "spec": template["spec"]}
    return client.CoreV1Api(api).create_namespaced_pod(namespace, body)


@pytest.mark.parametrize("path", ["efs_access_point", "azure_smb"])
def test_stan_pod_without_root_init_is_admitted_under_restricted(api, restricted_namespace, pod_templates, path):
    template = pod_templates[path]
    assert not template["spec"].get("initContainers"), "this path must not render the root init container"
    pod = create_pod(api, restricted_namespace, f"stan-{path.replace('_', '-')}", template)
    assert pod.metadata.uid, "the API server did not store the pod"
    containers = {c.name: c.security_context for c in pod.spec.containers}
    assert set(containers) == {"stan", "metrics"}
    assert all(sc.allow_privilege_escalation is False and sc.capabilities.drop == ["ALL"] for sc in containers.values())


def test_stan_pod_with_root_init_is_rejected_by_admission(api, restricted_namespace, pod_templates):
    from kubernetes import client

    template = pod_templates["root_init"]
    assert [c["name"] for c in template["spec"]["initContainers"]] == ["store-permissions"]
    with pytest.raises(client.ApiException) as caught:
        create_pod(api, restricted_namespace, "stan-root-init", template)
    exc = caught.value
    assert exc.status == 403, exc.body
    status = json.loads(exc.body)
    assert status["reason"] == "Forbidden"
    # The PodSecurity admission plugin's message, naming the container and every violation.
    message = status["message"]
    print(f"\nadmission: {message}")
    assert 'violates PodSecurity "restricted:latest"' in message
    for violation in ('runAsNonRoot != true (container "store-permissions"', 'runAsUser=0 (container "store-permissions"',
                      'unrestricted capabilities (container "store-permissions"'):
        assert violation in message, message
    pods = client.CoreV1Api(api).list_namespaced_pod(restricted_namespace).items
    assert "stan-root-init" not in [p.metadata.name for p in pods]


def test_the_same_root_init_pod_is_admitted_under_baseline(api, pod_templates):
    """Control: the rejection above is the restricted profile's, not a broken pod (baseline allows
    root and these added capabilities)."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    name = f"psa-baseline-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=name, labels={"pod-security.kubernetes.io/enforce": "baseline"})))
    try:
        pod = create_pod(api, name, "stan-root-init", pod_templates["root_init"])
        assert pod.metadata.uid
    finally:
        core.delete_namespace(name, propagation_policy="Background")
