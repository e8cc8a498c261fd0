# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Migrate NATS Streaming (STAN) channels and durable subscriptions to JetStream streams and consumers.

The pure functions (``validate_*``, ``plan_*``, ``check_*``, ``verify_*``) decide; ``Migration``
does the I/O through ``nats_io`` in this order, and nothing is written before every check passed:

1. pre-flight: STAN healthy (exactly one FT_ACTIVE server, or one standalone server), the inventory
   of channels and durable subscriptions read from the active server's monitoring endpoints,
   the JetStream cluster healthy (one meta leader, every peer current), both reachable over NATS;
2. plan: channel -> stream (name, subjects, limits, replicas = cluster size by default), durable ->
   consumer at the durable's next sequence; every conflict is an error that names the option;
3. copy: each channel from the first message the stream does not hold yet, in order, publishing
   with a message id and the expected last sequence (exactly once, resumable after a crash: the
   stream itself is the checkpoint), then the consumers;
4. verify: counts, first and last sequence, payload samples byte for byte, consumer positions.

STAN is only read: no message is published to STAN and no durable is created, moved or deleted.
The stream keeps each message at its STAN sequence (the stream is created with first_seq = the
channel's first sequence), so sequences, counts and consumer positions carry over unchanged.
"""

from __future__ import absolute_import, division, print_function

import asyncio
import random
import re
import time

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.nats_streaming.ft.plugins.module_utils import nats_io
from ansible_collections.nats_streaming.ft.plugins.module_utils.common import make_diff
from ansible_collections.nats_streaming.ft.plugins.module_utils.stan_monitor import (
    FT_ACTIVE,
    UrlSource,
    check_monitor_url,
    evaluate,
)

NS = 1000000000
METADATA_CHANNEL = "nats_streaming.ft/stan-channel"
METADATA_CLUSTER = "nats_streaming.ft/stan-cluster-id"
METADATA_DURABLE = "nats_streaming.ft/stan-durable"
STREAM_LIMIT_KEYS = ("replicas", "storage", "max_age", "max_msgs", "max_bytes", "duplicate_window")
MAPPING_KEYS = ("stream", "subjects") + STREAM_LIMIT_KEYS
_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]")
_SUBJECT_TOKEN = re.compile(r"^[^\s.*>]+$")
DURABLE_PENDING_CHOICES = ("fail", "after_last_sent")


class PlanError(Exception):
    """The migration cannot start; the message lists every problem and its fix."""


# --------------------------------------------------------------------------- names
def stream_name_for(channel):
    """Default stream name of a channel: the channel with every character a stream name may not
    hold ('.', '*', '>', whitespace, path separators) replaced by '_'."""
    return _NAME_BAD.sub("_", channel)


def consumer_name_for(durable):
    """Plain durables are keyed by client id and durable name in STAN, queue durables by durable
    name and queue group: the consumer name keeps both parts."""
    owner = durable["queue_group"] or durable["client_id"]
    return _NAME_BAD.sub("_", "%s_%s" % (owner, durable["durable_name"]))


def msg_id(cluster_id, channel, seq):
    return "%s/%s/%d" % (cluster_id, channel, seq)


# --------------------------------------------------------------------------- input
def validate_params(params):
    """Problems with the options that argument_spec cannot express, as messages naming the option."""
    problems = []
    for option in ("stan_monitor_urls", "jetstream_monitor_urls"):
        urls = params.get(option) or []
        if not urls:
            problems.append("%s is empty: list the monitoring URL of every server, e.g. http://127.0.0.1:8222" % option)
        for url in urls:
            reason = check_monitor_url(url)
            if reason:
                problems.append("%s: %s" % (option, reason))
    for option in ("stan_servers", "jetstream_servers"):
        urls = params.get(option) or []
        if not urls:
            problems.append("%s is empty: list at least one nats:// URL" % option)
        bad = [u for u in urls if not re.match(r"^(nats|tls)://[^\s,]+$", u)]
        if bad:
            problems.append("%s: %s is not a nats://host:port URL" % (option, ", ".join(bad)))
    for channel, entry in sorted((params.get("mapping") or {}).items()):
        if not isinstance(entry, dict):
            problems.append("mapping.%s must be a dict with keys among %s" % (channel, ", ".join(MAPPING_KEYS)))
            continue
        unknown = sorted(set(entry) - set(MAPPING_KEYS))
        if unknown:
            problems.append("mapping.%s has unknown key(s) %s; known keys: %s" % (
                channel, ", ".join(unknown), ", ".join(MAPPING_KEYS)))
        if "stream" in entry and (not isinstance(entry["stream"], str) or _NAME_BAD.search(entry["stream"] or "-")
                                  or not entry["stream"]):
            problems.append("mapping.%s.stream %r is not a valid stream name: use letters, digits, '-' and '_'"
                            % (channel, entry["stream"]))
        problems.extend("mapping.%s.%s" % (channel, p) for p in _limit_problems(entry))
    defaults = params.get("stream_defaults") or {}
    unknown = sorted(set(defaults) - set(STREAM_LIMIT_KEYS))
    if unknown:
        problems.append("stream_defaults has unknown key(s) %s; known keys: %s" % (
            ", ".join(unknown), ", ".join(STREAM_LIMIT_KEYS)))
    problems.extend("stream_defaults.%s" % p for p in _limit_problems(defaults))
    if params.get("durable_pending") not in DURABLE_PENDING_CHOICES:
        problems.append("durable_pending must be one of %s" % ", ".join(DURABLE_PENDING_CHOICES))
    for option, low in (("publish_window", 1), ("verify_samples", 0)):
        if int(params.get(option) or 0) < low:
            problems.append("%s must be %d or more" % (option, low))
    if not re.match(r"^[A-Za-z0-9_-]+$", params.get("stan_cluster_id") or ""):
        problems.append("stan_cluster_id %r is invalid: letters, digits, '-' and '_' only" % params.get("stan_cluster_id"))
    return problems


def _limit_problems(entry):
    problems = []
    if "storage" in entry and entry["storage"] not in ("file", "memory"):
        problems.append("storage must be file or memory, got %r" % (entry["storage"],))
    if "replicas" in entry and not (isinstance(entry["replicas"], int) and 1 <= entry["replicas"] <= 5):
        problems.append("replicas must be an integer from 1 to 5, got %r" % (entry["replicas"],))
    for key in ("max_age", "max_msgs", "max_bytes", "duplicate_window"):
        if key in entry and not (isinstance(entry[key], int) and entry[key] >= (-1 if key in ("max_msgs", "max_bytes") else 0)):
            problems.append("%s must be a whole number (%s), got %r" % (
                key, "seconds" if key in ("max_age", "duplicate_window") else "-1 for unlimited", entry[key]))
    if "subjects" in entry:
        subjects = entry["subjects"]
        if not isinstance(subjects, list) or not subjects or not all(isinstance(s, str) and s for s in subjects):
            problems.append("subjects must be a non-empty list of subjects")
        elif any(not all(_SUBJECT_TOKEN.match(t) for t in s.split(".")) for s in subjects):
            problems.append("subjects %s: the stream receives the channel's messages on its first subject, so "
                            "use literal subjects (no wildcards, spaces or empty tokens)" % subjects)
    return problems


# --------------------------------------------------------------------------- inventory
def durables_of(channel, reader_prefix=None):
    """Durable subscriptions of one channelsz channel, queue members merged into their group.

    Returns (durables, others) where others lists the subscriptions that do not carry over
    (non-durable ones). A durable's next message is last_sent + 1; for a queue group the
    group's, i.e. the highest last_sent of its members (an offline durable queue group is
    reported by its shadow subscription).
    """
    durables = {}
    others = []
    for sub in channel.get("subscriptions") or []:
        client_id = sub.get("client_id") or ""
        if reader_prefix and client_id.startswith(reader_prefix + "-"):
            continue  # a reader of this (or an interrupted) migration run
        if not sub.get("is_durable"):
            others.append({"client_id": client_id, "queue_group": sub.get("queue_name") or "",
                           "reason": "non-durable subscription"})
            continue
        queue = sub.get("queue_name") or ""
        name = sub.get("durable_name") or ""
        if queue and not name and ":" in queue:
            # STAN names a durable queue group "<durable name>:<queue group>" and leaves durable_name empty.
            name, queue = queue.split(":", 1)
        key = ("queue", name, queue) if queue else ("plain", client_id, name)
        entry = durables.setdefault(key, {
            "channel": channel["name"],
            "durable_name": name,
            "queue_group": queue,
            "client_id": "" if queue else client_id,
            "members": [],
            "last_sent": 0,
            "pending": 0,
            "max_inflight": 0,
            "ack_wait": 0,
            "online": False,
        })
        entry["members"].append(client_id)
        entry["last_sent"] = max(entry["last_sent"], int(sub.get("last_sent") or 0))
        entry["pending"] += int(sub.get("pending_count") or 0)
        entry["max_inflight"] = max(entry["max_inflight"], int(sub.get("max_inflight") or 0))
        entry["ack_wait"] = max(entry["ack_wait"], int(sub.get("ack_wait") or 0))
        entry["online"] = entry["online"] or not sub.get("is_offline")
    result = []
    for entry in sorted(durables.values(), key=lambda d: (d["queue_group"], d["client_id"], d["durable_name"])):
        entry["members"] = sorted(set(m for m in entry["members"] if m))
        entry["next_seq"] = entry["last_sent"] + 1
        entry["consumer"] = consumer_name_for(entry)
        result.append(entry)
    return result, others


def build_inventory(channels, reader_prefix=None):
    """{channel name: {name, msgs, bytes, first_seq, last_seq, durables, not_migrated}}."""
    inventory = {}
    for channel in channels:
        durables, others = durables_of(channel, reader_prefix)
        inventory[channel["name"]] = {
            "name": channel["name"],
            "msgs": int(channel.get("msgs") or 0),
            "bytes": int(channel.get("bytes") or 0),
            "first_seq": int(channel.get("first_seq") or 0),
            "last_seq": int(channel.get("last_seq") or 0),
            "durables": durables,
            "not_migrated": others,
        }
    return inventory


def check_stan_health(servers):
    """(active server record, problem) from serverz records: one FT_ACTIVE server (the rest
    standby), or a single STANDALONE server."""
    ok, msg, summary = evaluate(servers)
    if ok:
        return next(s for s in servers if s["state"] == FT_ACTIVE), None
    if len(servers) == 1 and servers[0]["state"] == "STANDALONE":
        return servers[0], None
    return None, "STAN is not healthy: %s" % msg


def check_jetstream_health(docs):
    """(cluster size, problem) from the /jsz documents of the JetStream servers (url -> doc or
    error text). Healthy: every server answers with JetStream enabled, all name the same meta
    leader, and in the leader's own view every other peer is current."""
    problems = []
    metas = {}
    for url, doc in sorted(docs.items()):
        if not isinstance(doc, dict):
            problems.append("%s: %s" % (url, doc))
            continue
        if doc.get("disabled") or "config" not in doc:
            problems.append("%s: JetStream is not enabled on this server" % url)
            continue
        metas[url] = doc.get("meta_cluster")
    if problems:
        return None, "JetStream is not ready: %s" % "; ".join(problems)
    clustered = [m for m in metas.values() if m]
    if not clustered:
        if len(metas) == 1:
            return 1, None
        return None, ("JetStream is not ready: %d servers answer but none is clustered; list the monitoring URLs of "
                      "ONE JetStream cluster in jetstream_monitor_urls" % len(metas))
    leaders = set(m.get("leader") or "" for m in clustered)
    if len(clustered) != len(metas) or len(leaders) != 1 or "" in leaders:
        return None, ("JetStream is not ready: no meta leader agreed by every server (%s); wait until the cluster "
                      "has a quorum" % ", ".join("%s: leader %r" % (u, (m or {}).get("leader") or "")
                                                 for u, m in sorted(metas.items())))
    leader = leaders.pop()
    size = max(int(m.get("cluster_size") or 0) for m in clustered)
    views = [m for m in clustered if leader not in set(r.get("name") for r in m.get("replicas") or [])]
    if not views:
        return None, ("JetStream is not ready: the meta leader %s is not among jetstream_monitor_urls; list every "
                      "server of the cluster" % leader)
    lagging = [r.get("name") for r in views[0].get("replicas") or [] if not r.get("current") or r.get("offline")]
    if lagging or len(views[0].get("replicas") or []) + 1 < size:
        return None, ("JetStream is not ready: meta leader %s sees %d of %d peers current (not current: %s)" % (
            leader, len(views[0].get("replicas") or []) + 1 - len(lagging), size, ", ".join(lagging) or "missing peers"))
    return size, None


def select_channels(inventory, channels, mapping):
    """Channel names to migrate; PlanError problems for names that STAN does not have."""
    problems = []
    known = sorted(inventory)
    for option, names in (("channels", channels or []), ("mapping", sorted(mapping or {}))):
        unknown = [n for n in names if n not in inventory]
        if unknown:
            problems.append("%s names channel(s) %s that STAN does not have (it has: %s)" % (
                option, ", ".join(unknown), ", ".join(known) or "no channels"))
    selected = [n for n in (channels or known) if n in inventory]
    return selected, problems


# --------------------------------------------------------------------------- plan
def desired_stream(channel, params, cluster_id, cluster_size):
    entry = (params.get("mapping") or {}).get(channel["name"]) or {}
    limits = dict((params.get("stream_defaults") or {}), **dict((k, entry[k]) for k in STREAM_LIMIT_KEYS if k in entry))
    name = entry.get("stream") or stream_name_for(channel["name"])
    subjects = entry.get("subjects") or [channel["name"]]
    config = {
        "name": name,
        "description": "Migrated from NATS Streaming channel %s (cluster %s)" % (channel["name"], cluster_id),
        "subjects": list(subjects),
        "retention": "limits",
        "storage": limits.get("storage", "file"),
        "num_replicas": int(limits.get("replicas", min(cluster_size, 5))),
        "discard": "old",
        "max_msgs": int(limits.get("max_msgs", -1)),
        "max_bytes": int(limits.get("max_bytes", -1)),
        "max_age": int(limits.get("max_age", 0)) * NS,
        "duplicate_window": int(limits.get("duplicate_window", 120)) * NS,
        "allow_direct": True,
        "metadata": {METADATA_CHANNEL: channel["name"], METADATA_CLUSTER: cluster_id},
    }
    # Keep every message at its STAN sequence: an empty channel starts after its last sequence.
    first = channel["first_seq"] if channel["msgs"] else channel["last_seq"] + 1
    if first > 1:
        config["first_seq"] = first
    return config


COMPARED_STREAM_KEYS = ("subjects", "retention", "storage", "num_replicas", "discard", "max_msgs", "max_bytes",
                        "max_age")


def compare_stream(existing, desired):
    """Differences between an existing stream's config and the planned one (first_seq aside: it
    only applies at creation), as 'key: existing -> planned' strings."""
    diffs = []
    for key in COMPARED_STREAM_KEYS:
        have, want = existing.get(key), desired.get(key)
        if key == "subjects":
            have, want = sorted(have or []), sorted(want or [])
        if have != want:
            diffs.append("%s: %s -> %s" % (key, have, want))
    meta = existing.get("metadata") or {}
    for key in (METADATA_CHANNEL, METADATA_CLUSTER):
        if meta.get(key) != desired["metadata"][key]:
            diffs.append("metadata %s: %s -> %s (not made by this migration)" % (key, meta.get(key), desired["metadata"][key]))
    return diffs


def subjects_overlap(a, b):
    """Whether two subjects (wildcards allowed) can match a common subject."""
    ta, tb = a.split("."), b.split(".")
    for x, y in zip(ta, tb):
        if x == ">" or y == ">":
            return True
        if x != y and "*" not in (x, y):
            return False
    return len(ta) == len(tb)


def plan_channel(channel, desired, stream, last_msg, cluster_id):
    """What to do for one channel. stream is the existing stream's info (None when absent) and
    last_msg the stream's last stored message (None when empty). Returns (plan, problems)."""
    problems = []
    name = desired["name"]
    plan = {
        "channel": channel["name"],
        "stream": name,
        "subjects": desired["subjects"],
        "replicas": desired["num_replicas"],
        "channel_msgs": channel["msgs"],
        "channel_first_seq": channel["first_seq"],
        "channel_last_seq": channel["last_seq"],
        "stream_exists": stream is not None,
        "stream_msgs": 0,
        "stream_last_seq": None,
        "purge_to": None,
        "copy_from": None,
        "copy_to": None,
        "to_copy": 0,
    }
    first = desired.get("first_seq", 1)
    if stream is None:
        plan["action"] = "create"
        next_seq = first
    else:
        diffs = compare_stream(stream["config"], desired)
        if diffs:
            problems.append("stream %s exists with a different config (%s): delete it, or map channel %s to another "
                            "stream with mapping.%s.stream" % (name, "; ".join(diffs), channel["name"], channel["name"]))
            return plan, problems
        state = stream["state"]
        plan["stream_msgs"] = int(state.get("messages") or 0)
        plan["stream_last_seq"] = int(state.get("last_seq") or 0)
        next_seq = plan["stream_last_seq"] + 1
        if plan["stream_msgs"] == 0 and next_seq != first and channel["msgs"]:
            # An empty stream whose next sequence is not the channel's first (messages expired in STAN
            # since the stream was created): move its first sequence.
            if next_seq > first:
                problems.append("stream %s is empty but starts at sequence %d, after channel %s's first message %d: "
                                "delete the stream and rerun" % (name, next_seq, channel["name"], first))
                return plan, problems
            plan["purge_to"] = first
            next_seq = first
        elif plan["stream_msgs"]:
            stream_last = int(state.get("last_seq") or 0)
            want_id = msg_id(cluster_id, channel["name"], stream_last)
            have_id = ((last_msg or {}).get("headers") or {}).get(nats_io.HDR_MSG_ID)
            if have_id != want_id:
                problems.append("stream %s's last message (sequence %d) has message id %r, not %r: something other "
                                "than this migration wrote to it; delete the stream or map the channel elsewhere" % (
                                    name, stream_last, have_id, want_id))
            expected = stream_last - int(state.get("first_seq") or 0) + 1
            if plan["stream_msgs"] != expected:
                problems.append("stream %s has %d messages between sequences %s and %d: it has gaps, so it is not a "
                                "copy of channel %s; delete it and rerun" % (
                                    name, plan["stream_msgs"], state.get("first_seq"), stream_last,
                                    channel["name"]))
            if stream_last > channel["last_seq"]:
                problems.append("stream %s ends at sequence %d, after channel %s's last message %d: it is not a copy "
                                "of this channel" % (name, stream_last, channel["name"], channel["last_seq"]))
        plan["action"] = "resume" if channel["msgs"] and next_seq <= channel["last_seq"] else "none"
    if channel["msgs"] and next_seq <= channel["last_seq"]:
        plan["copy_from"] = max(next_seq, channel["first_seq"])
        plan["copy_to"] = channel["last_seq"]
        plan["to_copy"] = plan["copy_to"] - plan["copy_from"] + 1
    if plan["action"] == "resume" and plan["copy_from"] != next_seq:
        problems.append("channel %s no longer holds message %d (its first message is now %d, expired by its limits) "
                        "that stream %s needs next: delete the stream and rerun" % (
                            channel["name"], next_seq, channel["first_seq"], name))
    return plan, problems


def desired_consumer(durable, stream_first, cluster_id):
    start = max(durable["next_seq"], stream_first, 1)
    what = ("queue group %s" % durable["queue_group"]) if durable["queue_group"] else ("client %s" % durable["client_id"])
    return {
        "durable_name": durable["consumer"],
        "name": durable["consumer"],
        "description": "Migrated from STAN durable %s (%s) on channel %s" % (durable["durable_name"], what,
                                                                             durable["channel"]),
        "deliver_policy": "by_start_sequence",
        "opt_start_seq": start,
        "ack_policy": "explicit",
        "ack_wait": int(durable["ack_wait"] or 30) * NS,
        "max_ack_pending": int(durable["max_inflight"] or 1024),
        "replay_policy": "instant",
        "metadata": {METADATA_CLUSTER: cluster_id, METADATA_CHANNEL: durable["channel"],
                     METADATA_DURABLE: durable["durable_name"]},
    }


def plan_consumer(durable, desired, existing, durable_pending):
    """(plan, problems) for one durable: create, keep, recreate (untouched consumer at the wrong
    position) or leave alone (a consumer JetStream clients already use)."""
    problems = []
    plan = {"consumer": desired["durable_name"], "channel": durable["channel"], "durable_name": durable["durable_name"],
            "queue_group": durable["queue_group"], "client_id": durable["client_id"], "next_seq": desired["opt_start_seq"],
            "stan_last_sent": durable["last_sent"], "stan_pending": durable["pending"]}
    if durable["pending"] and durable_pending == "fail":
        what = ("queue group %s" % durable["queue_group"]) if durable["queue_group"] else ("client %s" % durable["client_id"])
        problems.append("durable %s (%s) on channel %s has %d unacknowledged message(s): STAN does not say which, so "
                        "its consumer has no exact start. Let its subscribers acknowledge them (drain before the cutover) "
                        "or set durable_pending: after_last_sent to start after the last message sent (%d)" % (
                            durable["durable_name"], what, durable["channel"], durable["pending"], durable["last_sent"]))
    if existing is None:
        plan["action"] = "create"
    elif existing["config"].get("opt_start_seq") == desired["opt_start_seq"]:
        plan["action"] = "none"
    elif int((existing.get("delivered") or {}).get("consumer_seq") or 0) == 0:
        plan["action"] = "recreate"
    else:
        plan["action"] = "in_use"
    return plan, problems


def summarize(plans):
    streams = sum(1 for p in plans if p["action"] == "create")
    to_copy = sum(p["to_copy"] for p in plans)
    consumers = sum(1 for p in plans for c in p["consumers"] if c["action"] in ("create", "recreate"))
    changed = bool(streams or to_copy or consumers or any(p["purge_to"] for p in plans))
    return changed, "%d stream(s) to create, %d message(s) to copy, %d consumer(s) to create" % (streams, to_copy, consumers)


def diff_of(plans):
    before, after = {}, {}
    for p in plans:
        consumers_before = sorted(c["consumer"] for c in p["consumers"] if c["action"] != "create")
        if p["stream_exists"]:
            before[p["stream"]] = {"messages": p["stream_msgs"], "last_seq": p["stream_last_seq"],
                                   "consumers": consumers_before}
        after[p["stream"]] = {
            "messages": p["stream_msgs"] + p["to_copy"],
            "last_seq": p["copy_to"] if p["to_copy"] else p["stream_last_seq"],
            "consumers": sorted(c["consumer"] for c in p["consumers"]),
        }
    return make_diff(before, after)


# --------------------------------------------------------------------------- verify
def verify_counts(channel, stream_state):
    """Problems comparing a channel with its stream: message count, first and last sequence."""
    problems = []
    for label, have, want in (("messages", stream_state.get("messages"), channel["msgs"]),
                              ("first sequence", stream_state.get("first_seq"), channel["first_seq"] if channel["msgs"] else None),
                              ("last sequence", stream_state.get("last_seq"), channel["last_seq"])):
        if want is None:
            continue
        if int(have or 0) != int(want):
            problems.append("%s: stream has %s, channel has %s" % (label, have, want))
    return problems


def sample_seqs(channel, count, rng):
    if not channel["msgs"]:
        return []
    first, last = channel["first_seq"], channel["last_seq"]
    seqs = set([first, last])
    span = last - first + 1
    while len(seqs) < min(span, count + 2):
        seqs.add(rng.randint(first, last))
    return sorted(seqs)


def verify_sample(seq, stan_msg, js_msg):
    if stan_msg is None:
        return "sequence %d: STAN did not deliver it" % seq
    if js_msg is None:
        return "sequence %d: missing from the stream" % seq
    if int(stan_msg["sequence"]) != seq:
        return "sequence %d: STAN delivered %d instead (expired?)" % (seq, stan_msg["sequence"])
    if bytes(js_msg["data"]) != bytes(stan_msg["data"]):
        return "sequence %d: payloads differ (%d bytes in STAN, %d in JetStream)" % (
            seq, len(stan_msg["data"]), len(js_msg["data"]))
    headers = js_msg["headers"]
    if headers.get(nats_io.HDR_STAN_TIMESTAMP) != str(stan_msg["timestamp"]):
        return "sequence %d: timestamp header %r, STAN has %d" % (
            seq, headers.get(nats_io.HDR_STAN_TIMESTAMP), stan_msg["timestamp"])
    if headers.get(nats_io.HDR_STAN_SEQUENCE) != str(seq):
        return "sequence %d: %s header is %r" % (seq, nats_io.HDR_STAN_SEQUENCE, headers.get(nats_io.HDR_STAN_SEQUENCE))
    return None


def verify_consumer(plan, info, stream_last_seq):
    """The consumer's next delivery is the durable's next message, and it has delivered nothing."""
    if info is None:
        return "consumer %s does not exist" % plan["consumer"]
    if plan.get("action") == "in_use":
        return None  # JetStream clients already consume from it; its position is theirs now
    problems = []
    delivered = info.get("delivered") or {}
    if int(delivered.get("stream_seq") or 0) != plan["next_seq"] - 1 or int(delivered.get("consumer_seq") or 0) != 0:
        problems.append("next delivery is after sequence %s (%s delivered), the durable's next message is %d" % (
            delivered.get("stream_seq"), delivered.get("consumer_seq"), plan["next_seq"]))
    pending = max(0, stream_last_seq - plan["next_seq"] + 1)
    if int(info.get("num_pending") or 0) != pending:
        problems.append("%s messages pending, expected %d" % (info.get("num_pending"), pending))
    if problems:
        return "consumer %s: %s" % (plan["consumer"], "; ".join(problems))
    return None


# --------------------------------------------------------------------------- the run
class Migration(object):
    def __init__(self, params, check_mode=False, clock=time.monotonic):
        self.p = params
        self.check_mode = check_mode
        self.clock = clock
        self.timeout = float(params["request_timeout"])
        self.stan_nc = None
        self.js_nc = None
        self.reader = None
        self.js = None
        self.active_url = None
        self.inventory = None
        self.cluster_size = None
        self.stan_clients = []
        self.report = {"copied": {}, "consumers_created": [], "streams_created": [], "purged": []}

    # -- pre-flight
    def preflight_stan(self):
        servers = UrlSource(self.p["stan_monitor_urls"], self.timeout).servers()
        active, problem = check_stan_health(servers)
        if problem:
            raise PlanError(problem)
        self.active_url = active["endpoint"].rsplit("/streaming/", 1)[0]
        if active.get("cluster_id") and active["cluster_id"] != self.p["stan_cluster_id"]:
            raise PlanError("stan_cluster_id is %s but the STAN servers are cluster %s: set stan_cluster_id: %s" % (
                self.p["stan_cluster_id"], active["cluster_id"], active["cluster_id"]))
        return servers

    def follow_active(self):
        """After the copy: the server that is FT-active now (STAN may have failed over meanwhile;
        servers that do not answer, such as the one that was killed, are left out)."""
        servers = UrlSource(self.p["stan_monitor_urls"], self.timeout).servers()
        ok, msg, _summary = evaluate(servers, ignore_unreachable=True)
        active = [s for s in servers if s["state"] == FT_ACTIVE]
        if ok and active:
            self.active_url = active[0]["endpoint"].rsplit("/streaming/", 1)[0]
        elif not (len(servers) == 1 and servers[0]["state"] == "STANDALONE"):
            raise nats_io.MigrationIOError("STAN has no active server to verify against: %s" % msg)

    def read_inventory(self):
        _doc, channels = nats_io.read_channels(self.active_url, self.timeout)
        return build_inventory(channels, self.p["client_id_prefix"])

    def read_clients(self):
        """Client ids connected to STAN (client ids do not carry over to JetStream)."""
        doc = nats_io.read_clients(self.active_url, self.timeout)
        prefix = self.p["client_id_prefix"] + "-"
        return sorted(c["id"] for c in doc.get("clients") or [] if not c.get("id", "").startswith(prefix))

    def preflight_jetstream(self):
        docs = {}
        for url in self.p["jetstream_monitor_urls"]:
            try:
                docs[url] = nats_io.read_jsz(url, self.timeout)
            except nats_io.MigrationIOError as e:
                docs[url] = to_native(e)
        size, problem = check_jetstream_health(docs)
        if problem:
            raise PlanError(problem)
        return size

    async def connect(self):
        p = self.p
        self.stan_nc = await nats_io.connect(p["stan_servers"], "stan-to-jetstream reader", self.timeout,
                                             p.get("stan_user"), p.get("stan_password"), p.get("stan_token"))
        self.js_nc = await nats_io.connect(p["jetstream_servers"], "stan-to-jetstream writer", self.timeout,
                                           p.get("jetstream_user"), p.get("jetstream_password"), p.get("jetstream_token"))
        self.js = nats_io.JetStreamAPI(self.js_nc, self.timeout)
        await self.js.account_info()
        self.reader = nats_io.StanReader(self.stan_nc, p["stan_cluster_id"], p["client_id_prefix"], self.timeout)
        await self.reader.connect()

    async def close(self):
        if self.reader is not None:
            await self.reader.close()
        for nc in (self.stan_nc, self.js_nc):
            if nc is not None and not nc.is_closed:
                await nc.close()

    # -- plan
    async def plan(self):
        p = self.p
        selected, problems = select_channels(self.inventory, p.get("channels"), p.get("mapping"))
        plans = []
        names = {}
        existing_names = await self.js.stream_names()
        desired_by_channel = {}
        for name in selected:
            desired = desired_stream(self.inventory[name], p, p["stan_cluster_id"], self.cluster_size)
            desired_by_channel[name] = desired
            names.setdefault(desired["name"], []).append(name)
            if desired["num_replicas"] > self.cluster_size:
                problems.append("channel %s: %d replicas asked but the JetStream cluster has %d servers: set "
                                "stream_defaults.replicas or mapping.%s.replicas to %d or less" % (
                                    name, desired["num_replicas"], self.cluster_size, name, self.cluster_size))
        for stream, channels in sorted(names.items()):
            if len(channels) > 1:
                problems.append("channels %s would all become stream %s: give each a stream name with mapping.<channel>.stream"
                                % (", ".join(channels), stream))
        ours = set(d["name"] for d in desired_by_channel.values())
        others = {}
        for other in existing_names:
            if other not in ours:
                info = await self.js.stream_info(other)
                if info:
                    others[other] = info["config"].get("subjects") or []
        for name in selected:
            desired = desired_by_channel[name]
            for subject in desired["subjects"]:
                clash = [s for s, subs in sorted(others.items()) if any(subjects_overlap(subject, x) for x in subs)]
                if clash:
                    problems.append("channel %s: subject %s is already taken by stream(s) %s: set mapping.%s.subjects"
                                    % (name, subject, ", ".join(clash), name))
            stream = await self.js.stream_info(desired["name"]) if desired["name"] in existing_names else None
            last_msg = None
            if stream and int(stream["state"].get("messages") or 0):
                last_msg = await self.js.get_msg(desired["name"], int(stream["state"]["last_seq"]))
            plan, channel_problems = plan_channel(self.inventory[name], desired, stream, last_msg, p["stan_cluster_id"])
            problems.extend(channel_problems)
            plan["consumers"] = []
            stream_first = desired.get("first_seq", 1)
            for durable in self.inventory[name]["durables"]:
                wanted = desired_consumer(durable, stream_first, p["stan_cluster_id"])
                existing = await self.js.consumer_info(desired["name"], wanted["durable_name"]) if stream else None
                cplan, cproblems = plan_consumer(durable, wanted, existing, p["durable_pending"])
                cplan["config"] = wanted
                plan["consumers"].append(cplan)
                problems.extend(cproblems)
            plan["config"] = desired
            plans.append(plan)
        if problems:
            numbered = ["(%d) %s." % (i + 1, m.rstrip(".")) for i, m in enumerate(problems)]
            raise PlanError("Nothing was written. " + " ".join(numbered))
        return plans

    # -- copy
    async def apply(self, plans):
        for plan in plans:
            if plan["action"] == "create":
                await self.js.create_stream(plan["config"])
                self.report["streams_created"].append(plan["stream"])
            if plan["purge_to"]:
                await self.js.purge_to(plan["stream"], plan["purge_to"])
                self.report["purged"].append(plan["stream"])
            if plan["to_copy"]:
                await self.copy(plan)
            for consumer in plan["consumers"]:
                if consumer["action"] == "recreate":
                    await self.js.delete_consumer(plan["stream"], consumer["consumer"])
                if consumer["action"] in ("create", "recreate"):
                    await self.js.create_consumer(plan["stream"], consumer["config"])
                    self.report["consumers_created"].append("%s/%s" % (plan["stream"], consumer["consumer"]))

    async def copy(self, plan):
        cluster_id, channel, stream = self.p["stan_cluster_id"], plan["channel"], plan["stream"]
        subject = plan["subjects"][0]
        window = int(self.p["publish_window"])
        publisher = nats_io.WindowedPublisher(self.js_nc, window, self.timeout)
        await publisher.start()
        sub = await self.reader.subscribe(channel, plan["copy_from"], max_inflight=window)
        expected = plan["copy_from"]
        try:
            while expected <= plan["copy_to"]:
                for msg in await sub.batch(timeout=self.timeout):
                    seq = int(msg["sequence"])
                    if seq < expected or seq > plan["copy_to"]:
                        continue  # a redelivery of a message already copied, or one published since the plan
                    if seq > expected:
                        raise nats_io.MigrationIOError(
                            "channel %s skipped from message %d to %d while copying (expired by its limits?): stream %s "
                            "holds messages up to %d; rerun once the channel is stable" % (
                                channel, expected, seq, stream, expected - 1))
                    headers = {
                        nats_io.HDR_MSG_ID: msg_id(cluster_id, channel, seq),
                        nats_io.HDR_EXPECTED_STREAM: stream,
                        nats_io.HDR_EXPECTED_LAST_SEQ: str(seq - 1),
                        nats_io.HDR_STAN_SEQUENCE: str(seq),
                        nats_io.HDR_STAN_TIMESTAMP: str(msg["timestamp"]),
                        nats_io.HDR_STAN_CHANNEL: channel,
                    }
                    await publisher.publish(subject, msg["data"], headers, str(seq))
                    expected += 1
            await publisher.drain()
        finally:
            self.report["copied"][channel] = publisher.stored
            for closing in (sub.close, publisher.close):
                try:
                    await closing()
                except (nats_io.MigrationIOError, OSError, asyncio.TimeoutError):
                    pass  # already failing, or the connection is gone: the original error is what matters

    # -- verify
    async def verify(self, plans):
        rng = random.Random()
        self.follow_active()
        inventory = self.read_inventory()
        results = []
        for plan in plans:
            channel = inventory.get(plan["channel"])
            problems = []
            stream = await self.js.stream_info(plan["stream"])
            if channel is None:
                problems.append("channel %s no longer exists in STAN" % plan["channel"])
            elif stream is None:
                problems.append("stream %s does not exist" % plan["stream"])
            else:
                problems.extend(verify_counts(channel, stream["state"]))
                newer = channel["last_seq"] - int(stream["state"].get("last_seq") or 0)
                if newer > 0 and channel["last_seq"] > plan["channel_last_seq"]:
                    problems.append("channel advanced by %d message(s) since the plan (publishers still active?): "
                                    "rerun once the STAN publishers stopped" % newer)
            samples = sample_seqs(channel, int(self.p["verify_samples"]), rng) if channel and stream else []
            for seq in samples:
                stan_msg = await self.reader.read_one(plan["channel"], seq)
                js_msg = await self.js.get_msg(plan["stream"], seq)
                problem = verify_sample(seq, stan_msg, js_msg)
                if problem:
                    problems.append(problem)
            consumers = []
            current = dict((d["consumer"], d) for d in (channel or {}).get("durables", []))
            for cplan in plan["consumers"]:
                info = await self.js.consumer_info(plan["stream"], cplan["consumer"]) if stream else None
                problem = verify_consumer(cplan, info, int((stream or {}).get("state", {}).get("last_seq") or 0))
                now = current.get(cplan["consumer"])
                if problem is None and now is not None and now["next_seq"] > cplan["next_seq"] and cplan["action"] != "in_use":
                    problem = ("consumer %s starts at %d but STAN durable %s has moved on to %d since: rerun the migration "
                               "after the STAN subscribers stopped" % (
                                   cplan["consumer"], cplan["next_seq"], cplan["durable_name"], now["next_seq"]))
                consumers.append({"consumer": cplan["consumer"], "next_seq": cplan["next_seq"], "ok": problem is None,
                                  "problem": problem})
                if problem:
                    problems.append(problem)
            results.append({"channel": plan["channel"], "stream": plan["stream"], "ok": not problems,
                            "problems": problems, "samples": samples,
                            "stream_state": dict((k, (stream or {}).get("state", {}).get(k))
                                                 for k in ("messages", "first_seq", "last_seq")),
                            "channel_state": dict((k, (channel or {}).get(k)) for k in ("msgs", "first_seq", "last_seq")),
                            "consumers": consumers})
        return results

    # -- everything
    async def run(self):
        self.preflight_stan()
        self.inventory = self.read_inventory()
        self.stan_clients = self.read_clients()
        self.cluster_size = self.preflight_jetstream()
        await self.connect()
        try:
            plans = await self.plan()
            changed, summary = summarize(plans)
            result = {"plan": [public_plan(p) for p in plans], "summary": summary, "active_stan": self.active_url,
                      "jetstream_cluster_size": self.cluster_size, "not_migrated": not_migrated(self.inventory),
                      "stan_clients": self.stan_clients, "diff": diff_of(plans)}
            if self.p["state"] == "verified":
                changed = False
            elif not self.check_mode and changed:
                t0 = self.clock()
                await self.apply(plans)
                elapsed = self.clock() - t0
                copied = sum(self.report["copied"].values())
                result.update(copied=self.report["copied"], msgs_copied=copied, copy_seconds=round(elapsed, 3),
                              msgs_per_second=round(copied / elapsed, 1) if elapsed > 0 and copied else 0.0,
                              streams_created=self.report["streams_created"],
                              consumers_created=self.report["consumers_created"])
            result["changed"] = changed
            if self.check_mode:
                return result
            if self.p["verify"] or self.p["state"] == "verified":
                result["verification"] = await self.verify(plans)
            return result
        finally:
            await self.close()


def public_plan(plan):
    out = dict((k, v) for k, v in plan.items() if k not in ("config", "consumers"))
    out["consumers"] = [dict((k, v) for k, v in c.items() if k != "config") for c in plan["consumers"]]
    return out


def not_migrated(inventory):
    """What does not carry over: non-durable subscriptions (and the clients holding them)."""
    out = []
    for name in sorted(inventory):
        for other in inventory[name]["not_migrated"]:
            out.append(dict(other, channel=name))
    return out


def run(module):
    if not nats_io.HAS_NATS:
        module.fail_json(msg=missing_required_lib("nats-py"), exception=to_native(nats_io.NATS_IMPORT_ERROR))
    problems = validate_params(module.params)
    if problems:
        module.fail_json(msg="Invalid options: " + "; ".join(problems))
    migration = Migration(module.params, check_mode=module.check_mode)
    try:
        result = asyncio.run(migration.run())
    except PlanError as e:
        module.fail_json(msg=to_native(e), changed=False)
    except nats_io.MigrationIOError as e:
        module.fail_json(msg="Migration stopped: %s. Rerun to resume: what was copied stays and is not copied again."
                         % to_native(e), changed=bool(migration.report["streams_created"] or migration.report["copied"]),
                         copied=migration.report["copied"])
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    failed = [v for v in result.get("verification") or [] if not v["ok"]]
    if failed:
        module.fail_json(msg="Verification failed for %s: %s" % (
            ", ".join(v["channel"] for v in failed),
            " ".join("%s: %s." % (v["channel"], "; ".join(v["problems"])) for v in failed)), **result)
    if module.params["state"] == "verified":
        result["msg"] = "verified %d channel(s): counts, sequences, payload samples and consumer positions match" % len(
            result["plan"])
    else:
        result["msg"] = result["summary"] if module.check_mode or result["changed"] else "nothing to migrate: " + result["summary"]
    module.exit_json(**result)
