"""Bad input fails with a clear message before anything is written to JetStream (real servers)."""

from __future__ import annotations

import pytest

from tests.lib.migration_env import Channel, fill
from tests.lib.natscluster import NatsCluster

from . import jsclient

TASK = "Migrate and verify the channels and durable subscriptions"
SMALL = [Channel("orders", 300, durable=("billing", "", 1, 100)), Channel("events", 200), Channel("audit", 100)]


@pytest.fixture(scope="module")
def small_env(tmp_path_factory, stanclient):
    from tests.lib.migration_env import start_env

    env = start_env(tmp_path_factory.mktemp("bad-input"), stanclient)
    try:
        fill(env, SMALL)
        yield env
    finally:
        env.stan.stop()
        env.js.stop()


def failed_msg(result) -> str:
    assert result.rc != 0, result.stdout[-2000:]
    failed = [t for t in result.tasks if t["result"].get("failed")]
    assert failed, result.stdout[-2000:]
    return failed[-1]["result"]["msg"]


def nothing_written(env, allowed: tuple[str, ...] = ()) -> None:
    urls = env.js.nats_urls()
    assert [s for s in jsclient.stream_names(urls) if s not in allowed] == []


def test_unknown_channel_in_the_mapping_names_it_and_writes_nothing(small_env):
    msg = failed_msg(small_env.migrate(mapping={"orderz": {"stream": "ORDERS"}}))
    assert "mapping names channel(s) orderz that STAN does not have (it has: audit, events, orders)" in msg
    assert "Nothing was written" in msg
    nothing_written(small_env)


def test_unknown_channel_in_the_channel_list_names_it_and_writes_nothing(small_env):
    msg = failed_msg(small_env.migrate(channels=["orders", "nope"]))
    assert "channels names channel(s) nope that STAN does not have" in msg
    nothing_written(small_env)


def test_stream_that_exists_with_another_config_fails_before_any_stream_is_written(small_env):
    urls = small_env.js.nats_urls()
    jsclient.add_stream(urls, "orders", ["orders"], max_msgs=10, num_replicas=1)
    try:
        msg = failed_msg(small_env.migrate())
        assert "stream orders exists with a different config" in msg
        assert "num_replicas: 1 -> 3" in msg and "max_msgs: 10 -> -1" in msg
        assert "mapping.orders.stream" in msg
        # Not even the channels without a conflict were started.
        nothing_written(small_env, allowed=("orders",))
        assert jsclient.stream_info(urls, "orders").state.messages == 0
    finally:
        jsclient.run(_delete(urls, "orders"))


def test_subject_taken_by_another_stream_fails_before_writing(small_env):
    urls = small_env.js.nats_urls()
    jsclient.add_stream(urls, "EVERYTHING", ["events.>", "events"], num_replicas=1)
    try:
        msg = failed_msg(small_env.migrate())
        assert "channel events: subject events is already taken by stream(s) EVERYTHING" in msg
        nothing_written(small_env, allowed=("EVERYTHING",))
    finally:
        jsclient.run(_delete(urls, "EVERYTHING"))


def test_two_channels_mapped_to_one_stream_fail(small_env):
    msg = failed_msg(small_env.migrate(mapping={"orders": {"stream": "ONE"}, "events": {"stream": "ONE"}}))
    assert "channels orders, events would all become stream ONE" in msg or \
        "channels events, orders would all become stream ONE" in msg
    nothing_written(small_env)


def test_bad_options_name_the_option(small_env):
    msg = failed_msg(small_env.migrate(publish_window=0, mapping={"orders": {"replicas": 7, "colour": "red"}}))
    assert "publish_window must be 1 or more" in msg
    assert "mapping.orders has unknown key(s) colour" in msg
    assert "mapping.orders.replicas must be an integer from 1 to 5, got 7" in msg
    nothing_written(small_env)


def test_replicas_above_the_cluster_size_fail(small_env):
    msg = failed_msg(small_env.migrate(stream_defaults={"replicas": 5}))
    assert "5 replicas asked but the JetStream cluster has 3 servers" in msg
    nothing_written(small_env)


def test_jetstream_without_quorum_is_not_ready(small_env, tmp_path):
    """One server of a three-server JetStream cluster up: no meta leader, nothing can be written."""
    lonely = NatsCluster(tmp_path / "js-one", size=3)
    try:
        lonely.start(wait=False, only=[0])
        msg = failed_msg(small_env.migrate(jetstream_servers=[lonely.servers[0].nats_url],
                                           jetstream_monitor_urls=lonely.monitor_urls()))
        assert "JetStream is not ready" in msg
        assert lonely.servers[1].monitor_url in msg  # the servers that do not answer are named
    finally:
        lonely.stop()
    nothing_written(small_env)


def test_durable_with_unacknowledged_messages_fails_unless_told(small_env):
    """STAN reports how many messages a durable has not acknowledged, not which: no exact start."""
    urls = small_env.stan.nats_urls()
    res = small_env.client.durable(urls, "sub-slow", durable="slow", expect=50, unacked=2, subject="audit")
    assert res["count"] >= 50 and res["last_seq"] == 48, res  # every message after the 48th went unacknowledged
    msg = failed_msg(small_env.migrate())
    assert "durable slow (client sub-slow) on channel audit has" in msg
    assert "unacknowledged message(s)" in msg and "durable_pending: after_last_sent" in msg
    nothing_written(small_env)
    result = small_env.migrate(check=True, durable_pending="after_last_sent")
    assert result.rc == 0, result.stdout[-2000:]
    plan = {p["channel"]: p for p in result.task(TASK)["plan"]}
    [slow] = plan["audit"]["consumers"]
    assert slow["stan_pending"] >= 2 and slow["next_seq"] == slow["stan_last_sent"] + 1
    nothing_written(small_env)


def test_decommission_is_refused_before_a_successful_verification(small_env):
    """decommission_stan only verifies (it copies nothing); nothing is migrated yet, so it fails
    and the step that removes STAN is never reached."""
    # after_last_sent: another test of this module may have left a durable with pending messages.
    result = small_env.migrate(decommission_stan=True, durable_pending="after_last_sent")
    msg = failed_msg(result)
    assert msg.startswith("Verification failed for")
    assert "stream orders does not exist" in msg
    names = [t["name"] for t in result.tasks]
    assert not any(n.startswith("Decommission STAN") for n in names), names
    nothing_written(small_env)
    assert sorted(small_env.stan.states().values()) == ["FT_ACTIVE", "FT_STANDBY", "FT_STANDBY"]


async def _delete(urls, name):
    import nats

    nc = await nats.connect(servers=urls.split(","))
    try:
        await nc.jetstream().delete_stream(name)
    finally:
        await nc.close()
