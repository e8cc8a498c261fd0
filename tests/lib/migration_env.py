"""A STAN FT group with the migration data set and a JetStream cluster, for the migration tests and
the bench (real processes on 127.0.0.1; see tests/lib/stan.py and tests/lib/natscluster.py).

The data set is written by the stan.go test client (tests/stan/stanclient), not by the code under
test: DATA_SET has three channels, 10 000 messages, a plain durable part-way through `orders` and
a durable queue group (two members) part-way through `events`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .ansible_runner import PlayResult, run_playbook
from .natscluster import NatsCluster
from .paths import REPO
from .stan import StanCluster, http_get
from .stanclient import StanClient

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


def start_env(workdir: Path, client: StanClient) -> Env:
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
