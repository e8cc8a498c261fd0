"""Fixtures for the Azure tests: the ARM stand-in and the variables the targets need.

Import them explicitly in a test module:
``from tests.integration.azure_fixtures import arm_standin, standin  # noqa: F401``
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.lib.arm_standin import ArmStandin, start_standin
from tests.lib.paths import BUILD

TARGETS = Path(__file__).resolve().parent / "targets"
RESOURCE_GROUP = "rg-standin"
LOCATION = "eastus"


@dataclass
class StandinWorld:
    """A reset stand-in with one virtual network, and the target variables that point at it."""

    server: ArmStandin
    subnets: dict[str, str]
    taken_name: str = "takenbyothers"

    @property
    def env(self) -> dict[str, str]:
        return self.server.env()

    def account_vars(self, account_name: str | None = None) -> dict:
        return {
            "azure_rg": RESOURCE_GROUP,
            "azure_location": LOCATION,
            "account_name": account_name or unique_name("sa"),
            "missing_rg": "rg-does-not-exist",
            "subnet_a_id": self.subnets["nodes-a"],
            "subnet_b_id": self.subnets["nodes-b"],
            "subnet_no_endpoint_id": self.subnets["no-endpoint"],
            "taken_account_name": self.taken_name,
        }

    def share_vars(self) -> dict:
        return {
            "azure_rg": RESOURCE_GROUP,
            "azure_location": LOCATION,
            "premium_account": unique_name("prem"),
            "standard_account": unique_name("std"),
            "missing_rg": "rg-does-not-exist",
            "standin_url": self.server.url,
            "standin_ca": str(self.server.ca_path),
        }


def unique_name(prefix: str) -> str:
    """A storage-account-valid name (lower case letters and digits, <= 24 characters)."""
    return (prefix + uuid.uuid4().hex)[:24]


@pytest.fixture(scope="session")
def arm_standin():
    """The ARM stand-in on a free 127.0.0.1 port for the whole session, stopped by its PID."""
    server = start_standin(BUILD / "logs" / "arm-standin-pytest.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def standin(arm_standin) -> StandinWorld:
    """A reset stand-in: resource group rg-standin, vnet-aks with three subnets, none with the endpoint."""
    return prepare_world(arm_standin)


def prepare_world(server: ArmStandin) -> StandinWorld:
    server.reset()
    created = server.add_virtual_network(
        RESOURCE_GROUP,
        "vnet-aks",
        [
            {"name": "nodes-a", "address_prefix": "10.1.0.0/24"},
            {"name": "nodes-b", "address_prefix": "10.1.1.0/24"},
            {"name": "no-endpoint", "address_prefix": "10.1.2.0/24"},
        ],
    )
    subnets = {sid.rsplit("/", 1)[1]: sid for sid in created["subnets"]}
    world = StandinWorld(server=server, subnets=subnets)
    server.take_name(world.taken_name)
    server.clear_requests()
    return world
