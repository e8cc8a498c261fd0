"""End-to-end fixtures: the running local environment (moto + Kubernetes control plane)."""

from __future__ import annotations

import json
import urllib.request

import pytest

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


class MotoRecorder:
    """moto's request recorder on the environment's moto_server (started with a recording file)."""

    def __init__(self, url: str):
        self.url = url

    def _call(self, action: str) -> str:
        method = "GET" if action == "download-recording" else "POST"
        req = urllib.request.Request(f"{self.url}/moto-api/recorder/{action}", method=method)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read().decode()

    def start(self) -> None:
        self._call("reset-recording")
        self._call("start-recording")

    def stop(self) -> list[str]:
        """Stop recording; return the AWS operations recorded, as 'service:Operation'."""
        from tests.aws_noop_calls import OperationNamer

        self._call("stop-recording")
        entries = [json.loads(line) for line in self._call("download-recording").splitlines() if line.strip()]
        namer = OperationNamer()
        return [namer.name(e) for e in entries]


@pytest.fixture(scope="session")
def moto_recorder(localenv) -> MotoRecorder:
    return MotoRecorder(localenv["moto_url"])
