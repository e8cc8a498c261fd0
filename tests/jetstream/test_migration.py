"""STAN -> JetStream with real servers: the data set migrated, verified and consumed.

The tests of this module run in order on one data set (conftest.DATA_SET: three channels,
10 000 messages, a durable part-way through `orders`, a durable queue group part-way through
`events`) in a STAN FT group, and one JetStream cluster of three servers.
"""

from __future__ import annotations

import os
import random
import signal
import time

from tests.lib import procs
from tests.lib.migration_env import DATA_SET
from tests.lib.stan import binary

from . import jsclient

TASK = "Migrate and verify the channels and durable subscriptions"

STREAMS = {"orders": "orders", "orders.eu": "orders_eu", "events": "events"}


def payload(k: int, size: int) -> bytes:
    """What the stan.go test client publishes as message k."""
    p = f"msg-{k}".encode()
    return p + b"." * (size - len(p)) if len(p) < size else p


def channel_states(channels: dict) -> dict:
    return {n: (c["msgs"], c["bytes"], c["first_seq"], c["last_seq"]) for n, c in channels.items()}


def durable_positions(channels: dict) -> list[tuple]:
    return sorted((n, s.get("durable_name"), s.get("queue_name"), s["last_sent"], s["pending_count"])
                  for n, c in channels.items() for s in c.get("subscriptions") or [] if s["is_durable"])


def test_check_mode_shows_the_plan_and_writes_nothing(migrated_env, tmp_path):
    env = migrated_env
    # A connected client with a non-durable subscription: listed, not migrated.
    holder = procs.start([str(binary("stan-sub")), "-s", env.stan.nats_urls(), "-c", "test-cluster", "-id", "holder",
                          "-last", "orders.eu"], tmp_path / "holder.log")
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
                s["client_id"] == "holder" for s in env.channelsz()["orders.eu"].get("subscriptions") or []):
            time.sleep(0.1)
        before = env.channelsz()
        result = env.migrate(check=True)
    finally:
        os.kill(holder.pid, signal.SIGINT)  # stan-sub closes its STAN connection on SIGINT
        try:
            holder.wait(timeout=10)
        finally:
            procs.stop(holder.pid)
    assert result.rc == 0, result.stdout[-3000:]
    task = result.task(TASK)
    assert task["changed"] is True
    plan = {p["channel"]: p for p in task["plan"]}
    assert sorted(plan) == ["events", "orders", "orders.eu"]
    assert {c: p["stream"] for c, p in plan.items()} == STREAMS
    assert {c: (p["action"], p["copy_from"], p["copy_to"]) for c, p in plan.items()} == {
        "orders": ("create", 1, 5000), "orders.eu": ("create", 1, 3000), "events": ("create", 1, 2000)}
    assert task["summary"] == "3 stream(s) to create, 10000 message(s) to copy, 2 consumer(s) to create"
    consumers = {c["consumer"]: c["next_seq"] for p in plan.values() for c in p["consumers"]}
    assert consumers == {"sub-billing_billing": 2001, "workers_wq": 1501}
    assert all(p["replicas"] == 3 for p in plan.values())
    # The stan.go test client exits without closing, so the data set's publishers are still registered.
    assert "holder" in task["stan_clients"] and "pub-orders" in task["stan_clients"]
    assert not [c for c in task["stan_clients"] if c.startswith("stan2js-")]
    assert task["not_migrated"] == [{"channel": "orders.eu", "client_id": "holder", "queue_group": "",
                                     "reason": "non-durable subscription"}]
    assert jsclient.stream_names(env.js.nats_urls()) == []
    # Nothing in STAN changed: channels, counts and durable positions (the holder went away).
    after = env.channelsz()
    assert channel_states(after) == channel_states(before)
    assert durable_positions(after) == durable_positions(before)


def test_migration_copies_every_message_and_verifies(migrated_env):
    env = migrated_env
    before = env.channelsz()
    result = env.migrate()
    assert result.rc == 0, result.stdout[-4000:]
    task = result.task(TASK)
    assert task["changed"] is True
    assert task["msgs_copied"] == 10000
    assert task["copied"] == {"orders": 5000, "orders.eu": 3000, "events": 2000}
    assert all(v["ok"] for v in task["verification"]), task["verification"]
    print(f"migration: {task['msgs_copied']} messages in {task['copy_seconds']}s = {task['msgs_per_second']} msg/s")
    # Read back independently: counts, first/last sequence and payloads of every channel.
    urls = env.js.nats_urls()
    for ch in DATA_SET:
        info = jsclient.stream_info(urls, STREAMS[ch.name])
        assert (info.state.messages, info.state.first_seq, info.state.last_seq) == (ch.msgs, 1, ch.msgs)
        assert info.config.num_replicas == 3
        seqs = sorted({1, ch.msgs, *random.sample(range(1, ch.msgs + 1), 20)})
        got = jsclient.get_msgs(urls, STREAMS[ch.name], seqs)
        for seq in seqs:
            data, headers = got[seq]
            assert data == payload(seq, ch.size), (ch.name, seq)
            assert headers["Stan-Sequence"] == str(seq)
            assert headers["Nats-Msg-Id"] == f"test-cluster/{ch.name}/{seq}"
            assert int(headers["Stan-Timestamp"]) > 1_600_000_000 * 10**9
    # STAN was only read: channels, counts and durable positions are as they were.
    after = env.channelsz()
    assert channel_states(after) == channel_states(before)
    assert durable_positions(after) == durable_positions(before)


def test_timestamps_are_the_stan_timestamps(migrated_env):
    """Every message of `events` carries STAN's own timestamp, as read by the stan.go client."""
    env = migrated_env
    got = env.client.sub(env.stan.nats_urls(), "reader-ts", expect=2000, subject="events")
    stan = {m["seq"]: m["timestamp"] for m in got["msgs"]}
    assert sorted(stan) == list(range(1, 2001))
    js = jsclient.all_msgs(env.js.nats_urls(), "events", "events", 2000)
    assert {seq: int(h["Stan-Timestamp"]) for seq, h in js} == stan


def test_rerun_changes_nothing_and_copies_nothing(migrated_env):
    env = migrated_env
    result = env.migrate()
    assert result.rc == 0, result.stdout[-3000:]
    assert result.changed == 0
    task = result.task(TASK)
    assert task["summary"] == "0 stream(s) to create, 0 message(s) to copy, 0 consumer(s) to create"
    assert "msgs_copied" not in task
    assert all(v["ok"] for v in task["verification"])
    for ch in DATA_SET:
        assert jsclient.stream_info(env.js.nats_urls(), STREAMS[ch.name]).state.messages == ch.msgs


def test_a_rerun_during_dual_run_copies_only_the_new_messages(migrated_env):
    env = migrated_env
    pub = env.client.pub(env.stan.nats_urls(), "pub-late", n=100, start=3001, subject="orders.eu", size=200)
    assert pub["acked"] == 100
    check = env.migrate(check=True)
    plan = {p["channel"]: p for p in check.task(TASK)["plan"]}
    assert (plan["orders.eu"]["action"], plan["orders.eu"]["copy_from"], plan["orders.eu"]["copy_to"]) == \
        ("resume", 3001, 3100)
    assert plan["orders"]["action"] == "none" and plan["events"]["action"] == "none"
    result = env.migrate()
    assert result.rc == 0, result.stdout[-3000:]
    task = result.task(TASK)
    assert task["changed"] is True and task["copied"] == {"orders.eu": 100}
    assert all(v["ok"] for v in task["verification"])
    info = jsclient.stream_info(env.js.nats_urls(), "orders_eu")
    assert (info.state.messages, info.state.last_seq) == (3100, 3100)
    assert jsclient.get_msgs(env.js.nats_urls(), "orders_eu", [3100])[3100][0] == payload(3100, 200)


def test_migrated_consumers_resume_where_the_stan_durables_left_off(migrated_env):
    env = migrated_env
    urls = env.js.nats_urls()
    # New messages published to JetStream after the migration follow the migrated ones.
    seqs = jsclient.publish(urls, "orders", [b"after-1", b"after-2"])
    assert seqs == [5001, 5002]
    got = jsclient.fetch(urls, "orders", "sub-billing_billing", 3000 + 2)
    assert [seq for seq, _payload in got] == list(range(2001, 5003))
    assert got[0][1] == payload(2001, 0) and got[-1][1] == b"after-2"
    # The queue group's consumer starts at message 1501 of events.
    got = jsclient.fetch(urls, "events", "workers_wq", 500)
    assert [seq for seq, _payload in got] == list(range(1501, 2001))
    assert got[0][1] == payload(1501, 40)
