"""Fixtures for the STAN -> JetStream migration tests: real servers only.

A STAN FT group (three nats-streaming-server processes sharing one store directory, from the
`stan` role's stan.conf) and a JetStream cluster (three nats-server processes, from the
`nats_jetstream` role's nats.conf), all on 127.0.0.1 with free ports, stopped by the PIDs that
started them (tests/lib/migration_env.py).
"""

from __future__ import annotations

import pytest

from tests.lib.migration_env import DATA_SET, fill, start_env
from tests.lib.stan import binary
from tests.lib.stanclient import StanClient, build_stanclient


@pytest.fixture(scope="session")
def stanclient() -> StanClient:
    try:
        for name in ("nats-streaming-server", "nats-server"):
            binary(name)
        return StanClient(build_stanclient())
    except (FileNotFoundError, RuntimeError) as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def migrated_env(tmp_path_factory, stanclient):
    """The data set in a STAN FT group, and an empty JetStream cluster (shared by one module)."""
    env = start_env(tmp_path_factory.mktemp("migration"), stanclient)
    try:
        fill(env, DATA_SET)
        yield env
    finally:
        env.stan.stop()
        env.js.stop()


@pytest.fixture
def fresh_env(tmp_path, stanclient):
    """A STAN FT group and a JetStream cluster of the test's own."""
    env = start_env(tmp_path, stanclient)
    try:
        yield env
    finally:
        env.stan.stop()
        env.js.stop()
