"""Decisions of the STAN -> JetStream migration (plugins/module_utils/stan_migration.py)."""

from __future__ import annotations

import random

import pytest

from ansible_collections.nats_streaming.ft.plugins.module_utils import stan_migration as sm

PARAMS = {"stan_monitor_urls": ["http://127.0.0.1:8222"], "jetstream_monitor_urls": ["http://127.0.0.1:8223"],
          "stan_servers": ["nats://127.0.0.1:4222"], "jetstream_servers": ["nats://127.0.0.1:4223"],
          "mapping": {}, "stream_defaults": {}, "durable_pending": "fail", "publish_window": 256,
          "verify_samples": 3, "stan_cluster_id": "test-cluster"}


def sub(client, durable="", queue="", last_sent=0, pending=0, offline=False, is_durable=True):
    return {"client_id": client, "durable_name": durable, "queue_name": queue, "is_durable": is_durable,
            "is_offline": offline, "last_sent": last_sent, "pending_count": pending, "max_inflight": 1024,
            "ack_wait": 30}


def channel(name="orders", msgs=100, first=1, subs=()):
    return {"name": name, "msgs": msgs, "first_seq": first, "last_seq": first + msgs - 1 if msgs else first - 1,
            "subscriptions": list(subs)}


# --- names and input ------------------------------------------------------------------------

@pytest.mark.parametrize("chan, stream", [("orders", "orders"), ("orders.eu", "orders_eu"), ("a.*.>", "a____"),
                                          ("with space", "with_space")])
def test_stream_names_replace_what_a_stream_name_may_not_hold(chan, stream):
    assert sm.stream_name_for(chan) == stream


def test_valid_params_have_no_problems():
    assert sm.validate_params(PARAMS) == []


def test_every_bad_option_is_named():
    bad = dict(PARAMS, stan_monitor_urls=["ftp://x"], jetstream_servers=["127.0.0.1:4222"], publish_window=0,
               mapping={"orders": {"stream": "a.b", "replicas": 9, "subjects": ["x.*"], "max_age": "1h", "what": 1}},
               stream_defaults={"storage": "disk"}, stan_cluster_id="a.b")
    text = " | ".join(sm.validate_params(bad))
    for expected in ("stan_monitor_urls: 'ftp://x' is not an http(s) URL", "jetstream_servers: 127.0.0.1:4222 is not",
                     "publish_window must be 1 or more", "mapping.orders has unknown key(s) what",
                     "mapping.orders.stream 'a.b' is not a valid stream name", "mapping.orders.replicas must be",
                     "mapping.orders.subjects ['x.*']", "mapping.orders.max_age must be a whole number (seconds)",
                     "stream_defaults.storage must be file or memory", "stan_cluster_id 'a.b' is invalid"):
        assert expected in text, expected


# --- inventory ------------------------------------------------------------------------------

def test_queue_members_merge_into_one_durable_at_the_groups_next_message():
    chan = channel(subs=[sub("w-0", queue="wq:workers", last_sent=70), sub("w-1", queue="wq:workers", last_sent=75),
                         sub("solo", durable="billing", last_sent=40), sub("tail", is_durable=False),
                         sub("stan2js-0123", is_durable=False)])
    durables, others = sm.durables_of(chan, reader_prefix="stan2js")
    assert [(d["durable_name"], d["queue_group"], d["client_id"], d["next_seq"], d["consumer"], d["members"])
            for d in durables] == [("billing", "", "solo", 41, "solo_billing", ["solo"]),
                                   ("wq", "workers", "", 76, "workers_wq", ["w-0", "w-1"])]
    assert others == [{"client_id": "tail", "queue_group": "", "reason": "non-durable subscription"}]


def test_an_offline_durable_counts_with_its_saved_client_id():
    durables, _others = sm.durables_of(channel(subs=[sub("gone", durable="d", last_sent=9, offline=True)]))
    assert durables[0]["client_id"] == "gone" and durables[0]["online"] is False and durables[0]["next_seq"] == 10


def test_unknown_channels_are_problems_listing_what_stan_has():
    inv = sm.build_inventory([channel("a"), channel("b")])
    selected, problems = sm.select_channels(inv, ["a", "c"], {"d": {}})
    assert selected == ["a"]
    assert problems == ["channels names channel(s) c that STAN does not have (it has: a, b)",
                        "mapping names channel(s) d that STAN does not have (it has: a, b)"]


# --- health -----------------------------------------------------------------------------------

def jsz(leader, me, peers, current=True, size=3):
    replicas = [{"name": p, "current": current if leader == me else p == leader} for p in peers if p != me]
    return {"config": {}, "meta_cluster": {"leader": leader, "cluster_size": size, "replicas": replicas}}


def test_jetstream_is_healthy_with_one_leader_and_every_peer_current():
    peers = ["n0", "n1", "n2"]
    docs = {f"http://{p}": jsz("n1", p, peers) for p in peers}
    assert sm.check_jetstream_health(docs) == (3, None)


@pytest.mark.parametrize("docs, reason", [
    ({"http://n0": jsz("", "n0", ["n0", "n1", "n2"]), "http://n1": "http://n1 did not answer: refused"},
     "http://n1: http://n1 did not answer"),
    ({"http://n0": jsz("", "n0", ["n0", "n1", "n2"])}, "no meta leader agreed by every server"),
    ({"http://n0": jsz("n0", "n0", ["n0", "n1", "n2"]), "http://n1": jsz("n1", "n1", ["n0", "n1", "n2"])},
     "no meta leader agreed"),
    ({"http://n0": jsz("n0", "n0", ["n0", "n1", "n2"], current=False)}, "sees 1 of 3 peers current"),
    ({"http://n1": jsz("n0", "n1", ["n0", "n1", "n2"])}, "the meta leader n0 is not among jetstream_monitor_urls"),
    ({"http://n0": {"disabled": True}}, "JetStream is not enabled on this server"),
])
def test_jetstream_not_ready_says_why(docs, reason):
    size, problem = sm.check_jetstream_health(docs)
    assert size is None and problem.startswith("JetStream is not ready") and reason in problem


def test_a_single_unclustered_jetstream_server_has_size_one():
    assert sm.check_jetstream_health({"http://n0": {"config": {}, "meta_cluster": None}}) == (1, None)


# --- plan -------------------------------------------------------------------------------------

def desired(chan, **params):
    return sm.desired_stream(chan, dict(PARAMS, **params), "test-cluster", 3)


def test_a_new_stream_keeps_the_channels_sequences():
    chan = sm.build_inventory([channel(msgs=50, first=51)])["orders"]
    config = desired(chan)
    assert config["first_seq"] == 51 and config["num_replicas"] == 3 and config["subjects"] == ["orders"]
    plan, problems = sm.plan_channel(chan, config, None, None, "test-cluster")
    assert problems == []
    assert (plan["action"], plan["copy_from"], plan["copy_to"], plan["to_copy"]) == ("create", 51, 100, 50)


def test_limits_come_from_the_mapping_over_the_defaults():
    chan = sm.build_inventory([channel()])["orders"]
    config = desired(chan, stream_defaults={"max_age": 3600, "replicas": 1},
                     mapping={"orders": {"stream": "ORDERS", "subjects": ["o.new"], "replicas": 3}})
    assert (config["name"], config["subjects"], config["max_age"], config["num_replicas"]) == (
        "ORDERS", ["o.new"], 3600 * sm.NS, 3)


def stream_info(config, messages, first, last):
    return {"config": dict(config), "state": {"messages": messages, "first_seq": first, "last_seq": last}}


def last(cluster, chan, seq):
    return {"headers": {"Nats-Msg-Id": sm.msg_id(cluster, chan, seq)}}


def test_a_partly_copied_stream_resumes_after_its_last_message():
    chan = sm.build_inventory([channel()])["orders"]
    config = desired(chan)
    plan, problems = sm.plan_channel(chan, config, stream_info(config, 40, 1, 40), last("test-cluster", "orders", 40),
                                     "test-cluster")
    assert problems == [] and (plan["action"], plan["copy_from"], plan["to_copy"]) == ("resume", 41, 60)


def test_a_complete_stream_needs_nothing():
    chan = sm.build_inventory([channel()])["orders"]
    config = desired(chan)
    plan, problems = sm.plan_channel(chan, config, stream_info(config, 100, 1, 100),
                                     last("test-cluster", "orders", 100), "test-cluster")
    assert problems == [] and plan["action"] == "none" and plan["to_copy"] == 0


def test_a_stream_with_foreign_messages_is_refused():
    chan = sm.build_inventory([channel()])["orders"]
    config = desired(chan)
    _plan, problems = sm.plan_channel(chan, config, stream_info(config, 40, 1, 40), {"headers": {}}, "test-cluster")
    assert "has message id None, not 'test-cluster/orders/40'" in problems[0]


def test_a_stream_with_another_config_is_refused_with_every_difference():
    chan = sm.build_inventory([channel()])["orders"]
    config = desired(chan)
    other = dict(config, num_replicas=1, subjects=["x"], metadata={})
    _plan, problems = sm.plan_channel(chan, config, stream_info(other, 0, 0, 0), None, "test-cluster")
    assert len(problems) == 1
    for part in ("subjects: ['x'] -> ['orders']", "num_replicas: 1 -> 3", "not made by this migration",
                 "mapping.orders.stream"):
        assert part in problems[0]


def test_an_empty_stream_follows_a_channel_whose_first_messages_expired():
    chan = sm.build_inventory([channel(msgs=10, first=91)])["orders"]
    config = desired(chan)
    plan, problems = sm.plan_channel(chan, config, stream_info(config, 0, 81, 80), None, "test-cluster")
    assert problems == [] and plan["purge_to"] == 91 and plan["copy_from"] == 91


def test_a_resume_point_that_expired_from_stan_is_a_problem():
    chan = sm.build_inventory([channel(msgs=10, first=91)])["orders"]
    config = desired(chan)
    _plan, problems = sm.plan_channel(chan, config, stream_info(config, 40, 1, 40),
                                      last("test-cluster", "orders", 40), "test-cluster")
    assert "no longer holds message 41" in problems[0]


@pytest.mark.parametrize("pair, overlap", [(("orders", "orders"), True), (("orders", "orders.eu"), False),
                                           (("orders.*", "orders.eu"), True), (("orders.>", "orders.eu.x"), True),
                                           ((">", "x"), True), (("a.*", "b.c"), False), (("a.b", "a"), False)])
def test_subject_overlap_either_way_round(pair, overlap):
    assert sm.subjects_overlap(*pair) is overlap
    assert sm.subjects_overlap(*reversed(pair)) is overlap


def durable(next_seq=41, pending=0):
    return {"channel": "orders", "durable_name": "d", "queue_group": "", "client_id": "c", "last_sent": next_seq - 1,
            "pending": pending, "max_inflight": 10, "ack_wait": 5, "next_seq": next_seq, "consumer": "c_d"}


@pytest.mark.parametrize("existing, action", [
    (None, "create"),
    ({"config": {"opt_start_seq": 41}, "delivered": {"consumer_seq": 0}}, "none"),
    ({"config": {"opt_start_seq": 30}, "delivered": {"consumer_seq": 0}}, "recreate"),
    ({"config": {"opt_start_seq": 30}, "delivered": {"consumer_seq": 5}}, "in_use"),
])
def test_consumer_plans(existing, action):
    wanted = sm.desired_consumer(durable(), 1, "test-cluster")
    assert (wanted["opt_start_seq"], wanted["ack_wait"], wanted["max_ack_pending"]) == (41, 5 * sm.NS, 10)
    plan, problems = sm.plan_consumer(durable(), wanted, existing, "fail")
    assert problems == [] and plan["action"] == action


def test_a_durable_with_pending_messages_is_a_problem_unless_told():
    wanted = sm.desired_consumer(durable(pending=3), 1, "test-cluster")
    _plan, problems = sm.plan_consumer(durable(pending=3), wanted, None, "fail")
    assert "has 3 unacknowledged message(s)" in problems[0] and "durable_pending: after_last_sent" in problems[0]
    assert sm.plan_consumer(durable(pending=3), wanted, None, "after_last_sent")[1] == []


def test_a_durable_behind_an_expired_start_begins_at_the_streams_first_message():
    assert sm.desired_consumer(durable(next_seq=5), 20, "test-cluster")["opt_start_seq"] == 20


# --- verify ------------------------------------------------------------------------------------

def test_counts_must_match_exactly():
    chan = sm.build_inventory([channel()])["orders"]
    assert sm.verify_counts(chan, {"messages": 100, "first_seq": 1, "last_seq": 100}) == []
    assert sm.verify_counts(chan, {"messages": 99, "first_seq": 2, "last_seq": 100}) == [
        "messages: stream has 99, channel has 100", "first sequence: stream has 2, channel has 1"]


def test_samples_hold_the_first_and_the_last_message():
    chan = sm.build_inventory([channel(msgs=1000, first=11)])["orders"]
    seqs = sm.sample_seqs(chan, 3, random.Random(1))
    assert seqs[0] == 11 and seqs[-1] == 1010 and len(seqs) == 5


def test_a_sample_compares_payload_timestamp_and_sequence():
    stan = {"sequence": 7, "data": b"\x00abc", "timestamp": 123}
    good = {"data": b"\x00abc", "headers": {"Stan-Timestamp": "123", "Stan-Sequence": "7"}}
    assert sm.verify_sample(7, stan, good) is None
    assert "payloads differ" in sm.verify_sample(7, stan, dict(good, data=b"abc"))
    assert "timestamp header" in sm.verify_sample(7, stan, dict(good, headers={"Stan-Sequence": "7"}))
    assert "missing from the stream" in sm.verify_sample(7, stan, None)


def test_a_consumer_verifies_when_its_next_delivery_is_the_durables_next_message():
    plan = {"consumer": "c_d", "next_seq": 41, "action": "create"}
    info = {"delivered": {"stream_seq": 40, "consumer_seq": 0}, "num_pending": 60}
    assert sm.verify_consumer(plan, info, 100) is None
    assert "next delivery is after sequence 45" in sm.verify_consumer(
        plan, dict(info, delivered={"stream_seq": 45, "consumer_seq": 5}), 100)
    assert "does not exist" in sm.verify_consumer(plan, None, 100)
