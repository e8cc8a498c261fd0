"""The same Azure targets against real Azure, when service-principal credentials are present.

Needs AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT and AZURE_SUBSCRIPTION_ID (a service principal
with Contributor on the subscription, or on AZURE_RESOURCE_GROUP).  Optional: AZURE_RESOURCE_GROUP
(an existing group; otherwise a temporary one is created and deleted), AZURE_LOCATION (eastus),
AZURE_TEST_SUBNET_A_ID / AZURE_TEST_SUBNET_B_ID (subnets the test may add the Microsoft.Storage
service endpoint to; without them the subnet steps are skipped), AZURE_CLOUD_ENVIRONMENT.
Without the four credentials every test here is reported as skipped.
"""

from __future__ import annotations

import os
import uuid

import pytest

from tests.integration.azure_fixtures import TARGETS, unique_name
from tests.lib.ansible_runner import run_playbook

REQUIRED = ("AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_TENANT", "AZURE_SUBSCRIPTION_ID")
MISSING = [name for name in REQUIRED if not os.environ.get(name)]

pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason="real-Azure target not run: set %s (service principal credentials) to run it against Azure"
    % ", ".join(MISSING),
)

LOCATION = os.environ.get("AZURE_LOCATION", "eastus")


@pytest.fixture(scope="module")
def resource_group():
    """AZURE_RESOURCE_GROUP, or a temporary group created and deleted through Resource Manager."""
    existing = os.environ.get("AZURE_RESOURCE_GROUP")
    if existing:
        yield existing
        return
    from azure.core.rest import HttpRequest
    from azure.identity import ClientSecretCredential
    from azure.mgmt.storage import StorageManagementClient

    credential = ClientSecretCredential(os.environ["AZURE_TENANT"], os.environ["AZURE_CLIENT_ID"], os.environ["AZURE_SECRET"])
    client = StorageManagementClient(credential, os.environ["AZURE_SUBSCRIPTION_ID"])
    name = "nsft-it-" + uuid.uuid4().hex[:10]
    path = f"/subscriptions/{os.environ['AZURE_SUBSCRIPTION_ID']}/resourcegroups/{name}?api-version=2021-04-01"
    response = client.send_request(HttpRequest("PUT", path, json={"location": LOCATION, "tags": {"purpose": "nats_streaming.ft tests"}}))
    response.raise_for_status()
    try:
        yield name
    finally:
        client.send_request(HttpRequest("DELETE", path))  # Azure finishes the deletion on its own


def real_env() -> dict:
    return {k: v for k, v in os.environ.items() if k.startswith("AZURE_")}


def test_storage_account_target_passes_against_real_azure(resource_group):
    subnet_a, subnet_b = os.environ.get("AZURE_TEST_SUBNET_A_ID", ""), os.environ.get("AZURE_TEST_SUBNET_B_ID", "")
    extra_vars = {
        "azure_rg": resource_group,
        "azure_location": LOCATION,
        "account_name": unique_name("nsftit"),
        "missing_rg": "nsft-missing-" + uuid.uuid4().hex[:8],
        "subnet_a_id": subnet_a if subnet_b else "",
        "subnet_b_id": subnet_b if subnet_a else "",
        "subnet_no_endpoint_id": "",
        "taken_account_name": "",
    }
    result = run_playbook(TARGETS / "azure_storage_account" / "playbook.yml", extra_vars=extra_vars, env=real_env())
    assert result.rc == 0 and result.failed == 0, result.stdout[-4000:]


def test_file_share_target_passes_against_real_azure(resource_group):
    extra_vars = {
        "azure_rg": resource_group,
        "azure_location": LOCATION,
        "premium_account": unique_name("nsftprem"),
        "standard_account": unique_name("nsftstd"),
        "missing_rg": "nsft-missing-" + uuid.uuid4().hex[:8],
    }
    result = run_playbook(TARGETS / "azure_file_share" / "playbook.yml", extra_vars=extra_vars, env=real_env())
    assert result.rc == 0 and result.failed == 0, result.stdout[-4000:]
