"""Fixtures for the STAN -> JetStream migration tests: real servers only.

A STAN FT group (three nats-streaming-server processes sharing one store directory, from the
`stan` role's stan.conf) and a JetStream cluster (three nats-server processes, from the
`nats_jetstream` role's nats.conf), all on 127.0.0.1 with free ports, stopped by the PIDs that
started them. The data set is written by the stan.go test client (tests/stan/stanclient), not by
the code under test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.lib.ansible_runner import PlayResult, run_playbook
from tests.lib.natscluster import NatsCluster
from tests.lib.paths import REPO
from tests.lib.stan import StanCluster, binary, http_get
from tests.lib.stanclient import StanClient, build_stanclient

PLAYBOOK = REPO / "playbooks" / "migrate_to_jetstream.yml"


@dataclass
class Channel:
    name: str
    msgs: int
    size: int = 0
    # (durable name, queue group, members, messages read before the rest is published)
    durable: tuple | None = None


# >= 3 channels, 10 000 messages, a plain durable part-way through one channel and a durable
# queue group (two members) part-way through another.
DATA_SET = [
    Channel("orders", 5000, durable=("billing", "", 1, 2000)),
    Channel("orders.eu", 3000, size=200),
    Channel("events", 2000, size=40, durable=("wq", "workers", 2, 1500)),
]


@dataclass
class Env:
    stan: StanCluster
    js: NatsCluster
    client: StanClient
    channels: list[Channel] = field(default_factory=list)

    def vars(self, **extra) -> dict:
        return {
            "stan_servers": self.stan.nats_urls().split(","),
            "stan_monitor_urls": self.stan.monitor_urls(),
            "jetstream_servers": self.js.nats_urls().split(","),
            "jetstream_monitor_urls": self.js.monitor_urls(),
            **extra,
        }

    def migrate(self, check: bool = False, **extra) -> PlayResult:
        return run_playbook(PLAYBOOK, extra_vars=self.vars(**extra), check=check, diff=True, timeout=600)

    def channelsz(self) -> dict:
        """The active STAN server's channels with their subscriptions, by name."""
        _status, body = http_get(f"{self.stan.active().monitor_url}/streaming/channelsz?subs=1", timeout=5)
        return {c["name"]: c for c in json.loads(body).get("channels") or []}


def fill(env: Env, channels: list[Channel]) -> None:
    """Publish every channel; a channel with a durable gets its durable part-way through."""
    urls = env.stan.nats_urls()
    for ch in channels:
        first = ch.durable[3] if ch.durable else ch.msgs
        res = env.client.pub(urls, f"pub-{ch.name.replace('.', '-')}", n=first, start=1, subject=ch.name, size=ch.size)
        assert res["acked"] == first, res
        if ch.durable:
            name, group, members, read = ch.durable
            res = env.client.durable(urls, f"sub-{name}", durable=name, expect=read, subject=ch.name,
                                     qgroup=group, members=members)
            assert res["count"] == read and res["last_seq"] == read, res
            rest = ch.msgs - read
            res = env.client.pub(urls, f"pub2-{ch.name.replace('.', '-')}", n=rest, start=read + 1,
                                 subject=ch.name, size=ch.size)
            assert res["acked"] == rest, res
    env.channels = channels


@pytest.fixture(scope="session")
def stanclient() -> StanClient:
    try:
        for name in ("nats-streaming-server", "nats-server"):
            binary(name)
        return StanClient(build_stanclient())
    except (FileNotFoundError, RuntimeError) as exc:
        pytest.fail(str(exc), pytrace=False)


def _start(workdir: Path, client: StanClient) -> Env:
    stan = StanCluster(workdir / "stan", size=3)
    js = NatsCluster(workdir / "js", size=3)
    env = Env(stan, js, client)
    try:
        stan.start()
        js.start()
    except Exception:
        stan.stop()
        js.stop()
        raise
    return env


@pytest.fixture(scope="module")
def migrated_env(tmp_path_factory, stanclient):
    """The data set in a STAN FT group, and an empty JetStream cluster (shared by one module)."""
    env = _start(tmp_path_factory.mktemp("migration"), stanclient)
    try:
        fill(env, DATA_SET)
        yield env
    finally:
        env.stan.stop()
        env.js.stop()


@pytest.fixture
def fresh_env(tmp_path, stanclient):
    """A STAN FT group and a JetStream cluster of the test's own."""
    env = _start(tmp_path, stanclient)
    try:
        yield env
    finally:
        env.stan.stop()
        env.js.stop()
