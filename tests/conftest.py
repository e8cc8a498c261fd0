"""Fixtures shared by every test suite: the staged collection and a real moto server."""

from __future__ import annotations

import sys

import pytest

from tests.lib.paths import BUILD, stage_collection

# Make `ansible_collections.nats_streaming.ft...` importable for unit tests.
sys.path.insert(0, str(stage_collection()))


@pytest.fixture(scope="session")
def moto_server():
    """A moto_server on a free 127.0.0.1 port for the whole session, stopped by its PID."""
    from tests.lib.moto import start_moto

    server = start_moto(BUILD / "logs" / "moto-pytest.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aws(moto_server, monkeypatch):
    """A reset moto server with the environment pointing boto3 and amazon.aws at it."""
    moto_server.reset()
    for key, value in moto_server.env().items():
        monkeypatch.setenv(key, value)
    return moto_server
