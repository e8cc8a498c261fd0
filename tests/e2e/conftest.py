"""End-to-end fixtures: the running local environment (moto + Kubernetes control plane)."""

from __future__ import annotations

import json

import pytest

from tests.lib.moto import MotoRecorder
from tests.lib.paths import STATE_DIR


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
