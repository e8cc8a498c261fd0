# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The I/O of the STAN -> JetStream migration: a read-only STAN client, the JetStream API and the
HTTP monitoring endpoints of both servers.

Everything here talks to servers; every decision lives in ``stan_migration``. NATS connections use
nats-py (asyncio); STAN's protocol is spoken over them with ``stan_protocol``; JetStream's API is
JSON over NATS request/reply (``$JS.API.*``), used directly so that what is sent is exactly what
the JetStream documentation describes.
"""

from __future__ import absolute_import, division, print_function

import asyncio
import base64
import collections
import json
import uuid

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

from ansible_collections.nats_streaming.ft.plugins.module_utils import stan_protocol as pb

try:
    import nats
    from nats.errors import NoRespondersError
    from nats.errors import TimeoutError as NatsTimeoutError

    HAS_NATS = True
    NATS_IMPORT_ERROR = None
except ImportError as e:  # pragma: no cover - reported by the module
    HAS_NATS = False
    NATS_IMPORT_ERROR = e

# Headers the migration writes on every JetStream message.
HDR_MSG_ID = "Nats-Msg-Id"
HDR_EXPECTED_STREAM = "Nats-Expected-Stream"
HDR_EXPECTED_LAST_SEQ = "Nats-Expected-Last-Sequence"
HDR_STAN_SEQUENCE = "Stan-Sequence"
HDR_STAN_TIMESTAMP = "Stan-Timestamp"
HDR_STAN_CHANNEL = "Stan-Channel"

# JetStream API error codes the engine reacts to.
ERR_STREAM_NOT_FOUND = 10059
ERR_CONSUMER_NOT_FOUND = 10014
ERR_MESSAGE_NOT_FOUND = 10037


class MigrationIOError(Exception):
    """A server answered with an error, or did not answer; the message says which and why."""


# --------------------------------------------------------------------------- HTTP monitoring
def http_json(url, timeout):
    """GET a monitoring endpoint and decode its JSON; MigrationIOError naming the URL otherwise."""
    try:
        resp = open_url(url, method="GET", timeout=timeout, headers={"Accept": "application/json"})
        body = resp.read()
    except HTTPError as e:
        raise MigrationIOError("%s answered HTTP %s %s" % (url, e.code, to_native(e.reason)))
    except URLError as e:
        raise MigrationIOError("%s did not answer: %s" % (url, to_native(e.reason)))
    except (OSError, ValueError) as e:
        raise MigrationIOError("%s did not answer: %s" % (url, to_native(e)))
    try:
        return json.loads(to_text(body, errors="surrogate_or_strict"))
    except ValueError:
        raise MigrationIOError("%s did not answer with JSON: %r" % (url, to_text(body)[:80]))


def read_channels(monitor_url, timeout, page=1024):
    """Every channel with its subscriptions, from /streaming/channelsz?subs=1 (paged)."""
    channels = []
    offset = 0
    while True:
        doc = http_json("%s/streaming/channelsz?subs=1&offset=%d&limit=%d" % (monitor_url.rstrip("/"), offset, page),
                        timeout)
        batch = doc.get("channels") or []
        channels.extend(batch)
        offset += len(batch)
        if not batch or offset >= int(doc.get("total") or 0):
            return doc, channels


def read_clients(monitor_url, timeout):
    """Connected STAN clients and their subscriptions, from /streaming/clientsz?subs=1."""
    return http_json("%s/streaming/clientsz?subs=1&limit=100000" % monitor_url.rstrip("/"), timeout)


def read_jsz(monitor_url, timeout):
    return http_json("%s/jsz" % monitor_url.rstrip("/"), timeout)


# --------------------------------------------------------------------------- NATS
async def connect(servers, name, timeout, user=None, password=None, token=None):
    kwargs = {"servers": list(servers), "name": name, "connect_timeout": timeout, "allow_reconnect": False,
              "max_reconnect_attempts": 0}
    if user:
        kwargs.update(user=user, password=password)
    if token:
        kwargs["token"] = token

    async def _quiet(_exc):
        return None

    kwargs["error_cb"] = _quiet
    try:
        return await nats.connect(**kwargs)
    except Exception as e:  # nats-py raises several unrelated types for "could not connect"
        raise MigrationIOError("could not connect to NATS at %s: %s" % (", ".join(servers), to_native(e) or type(e).__name__))


async def request(nc, subject, payload, timeout, what):
    try:
        return await nc.request(subject, payload, timeout=timeout)
    except NoRespondersError:
        raise MigrationIOError("%s: nothing answers on %s" % (what, subject))
    except (NatsTimeoutError, asyncio.TimeoutError):
        raise MigrationIOError("%s: no answer on %s within %ss" % (what, subject, timeout))


# --------------------------------------------------------------------------- STAN (read only)
class StanReader(object):
    """A STAN client that only reads: it connects, reads channels through non-durable
    subscriptions and closes. It never publishes to a channel and never creates, moves or
    deletes a durable subscription."""

    def __init__(self, nc, cluster_id, client_prefix, timeout):
        self.nc = nc
        self.cluster_id = cluster_id
        self.client_id = "%s-%s" % (client_prefix, uuid.uuid4().hex[:12])
        self.timeout = timeout
        self.info = None
        self._hb_sub = None

    async def connect(self):
        hb_inbox = self.nc.new_inbox()

        async def _heartbeat(msg):
            if msg.reply:
                await self.nc.publish(msg.reply, b"")

        self._hb_sub = await self.nc.subscribe(hb_inbox, cb=_heartbeat)
        payload = pb.encode("ConnectRequest", clientID=self.client_id, heartbeatInbox=hb_inbox)
        msg = await request(self.nc, "_STAN.discover.%s" % self.cluster_id, payload, self.timeout,
                            "STAN cluster '%s'" % self.cluster_id)
        info = pb.decode("ConnectResponse", msg.data)
        if info["error"]:
            raise MigrationIOError("STAN refused the connection of %s: %s" % (self.client_id, info["error"]))
        self.info = info

    async def subscribe(self, channel, start_seq, max_inflight, ack_wait=30):
        inbox = self.nc.new_inbox()
        stan_sub = _StanSubscription(self, channel, inbox)
        sub = await self.nc.subscribe(inbox, cb=stan_sub.on_msg, pending_msgs_limit=max(65536, max_inflight * 2))
        payload = pb.encode("SubscriptionRequest", clientID=self.client_id, subject=channel, inbox=inbox,
                            maxInFlight=max_inflight, ackWaitInSecs=ack_wait,
                            startPosition=pb.START_SEQUENCE, startSequence=start_seq)
        msg = await request(self.nc, self.info["subRequests"], payload, self.timeout,
                            "STAN subscription to channel '%s'" % channel)
        resp = pb.decode("SubscriptionResponse", msg.data)
        if resp["error"]:
            await sub.unsubscribe()
            raise MigrationIOError("STAN refused to read channel '%s' from %d: %s" % (channel, start_seq, resp["error"]))
        stan_sub.ack_inbox = resp["ackInbox"]
        stan_sub.sub = sub
        return stan_sub

    async def read_one(self, channel, seq):
        """The message at seq (or the first one after it when seq is gone), or None when none arrives."""
        stan_sub = await self.subscribe(channel, seq, 1)
        try:
            return (await stan_sub.batch(timeout=self.timeout))[0]
        except MigrationIOError:
            return None
        finally:
            await stan_sub.close()

    async def close(self):
        if self.info is not None:
            payload = pb.encode("CloseRequest", clientID=self.client_id)
            try:
                await request(self.nc, self.info["closeRequests"], payload, self.timeout, "STAN close")
            except MigrationIOError:
                pass  # the server drops the client once its heartbeats go unanswered
            self.info = None
        if self._hb_sub is not None:
            await self._hb_sub.unsubscribe()
            self._hb_sub = None


class _StanSubscription(object):
    """Messages of one STAN subscription, handed out in batches: everything that arrived since
    the last batch is acknowledged and returned at once, so the acks (and whatever the caller
    publishes for the batch) leave in one write instead of one write per message."""

    def __init__(self, reader, channel, inbox):
        self.reader = reader
        self.channel = channel
        self.inbox = inbox
        self.ack_inbox = None
        self.sub = None
        self._buffer = collections.deque()
        self._arrived = asyncio.Event()

    async def on_msg(self, msg):
        self._buffer.append(msg.data)
        self._arrived.set()

    async def batch(self, timeout):
        if not self._buffer:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout)
            except asyncio.TimeoutError:
                raise MigrationIOError("no message from STAN channel '%s' within %ss" % (self.channel, timeout))
        raw = list(self._buffer)
        self._buffer.clear()
        msgs = [pb.decode("MsgProto", data) for data in raw]
        for decoded in msgs:
            await self.reader.nc.publish(self.ack_inbox, pb.encode("Ack", subject=self.channel,
                                                                   sequence=decoded["sequence"]))
        return msgs

    async def close(self):
        payload = pb.encode("UnsubscribeRequest", clientID=self.reader.client_id, subject=self.channel,
                            inbox=self.inbox)
        try:
            await request(self.reader.nc, self.reader.info["unsubRequests"], payload, self.reader.timeout,
                          "STAN unsubscribe")
        finally:
            await self.sub.unsubscribe()


# --------------------------------------------------------------------------- JetStream
class JetStreamAPI(object):
    """The JetStream JSON API over a NATS connection."""

    def __init__(self, nc, timeout, prefix="$JS.API"):
        self.nc = nc
        self.timeout = timeout
        self.prefix = prefix

    async def call(self, subject, body=None, allow=()):
        """Request $JS.API.<subject>; returns the JSON answer, or raises MigrationIOError unless the
        answer's error code is in allow (then the answer is returned as it is)."""
        payload = json.dumps(body).encode() if body is not None else b""
        msg = await request(self.nc, "%s.%s" % (self.prefix, subject), payload, self.timeout, "JetStream")
        try:
            answer = json.loads(msg.data)
        except ValueError:
            raise MigrationIOError("JetStream answered %s with something that is not JSON" % subject)
        error = answer.get("error")
        if error and error.get("err_code") not in allow:
            raise MigrationIOError("JetStream %s failed: %s (code %s, err_code %s)" % (
                subject.split(".")[0], error.get("description"), error.get("code"), error.get("err_code")))
        return answer

    async def account_info(self):
        return await self.call("INFO")

    async def stream_info(self, name):
        answer = await self.call("STREAM.INFO.%s" % name, allow=(ERR_STREAM_NOT_FOUND,))
        return None if answer.get("error") else answer

    async def stream_names(self):
        names, offset = [], 0
        while True:
            answer = await self.call("STREAM.NAMES", {"offset": offset})
            batch = answer.get("streams") or []
            names.extend(batch)
            offset += len(batch)
            if not batch or offset >= answer.get("total", 0):
                return names

    async def create_stream(self, config):
        return await self.call("STREAM.CREATE.%s" % config["name"], config)

    async def purge_to(self, name, seq):
        """Remove every message below seq; on an empty stream this moves its first sequence to seq."""
        return await self.call("STREAM.PURGE.%s" % name, {"seq": seq})

    async def get_msg(self, name, seq):
        """The stored message at seq as {seq, subject, data (bytes), headers (dict)}, or None."""
        answer = await self.call("STREAM.MSG.GET.%s" % name, {"seq": seq}, allow=(ERR_MESSAGE_NOT_FOUND,))
        if answer.get("error"):
            return None
        raw = answer["message"]
        return {
            "seq": raw.get("seq"),
            "subject": raw.get("subject"),
            "data": base64.b64decode(raw.get("data") or ""),
            "headers": parse_headers(base64.b64decode(raw.get("hdrs") or "")),
        }

    async def consumer_info(self, stream, name):
        answer = await self.call("CONSUMER.INFO.%s.%s" % (stream, name), allow=(ERR_CONSUMER_NOT_FOUND,))
        return None if answer.get("error") else answer

    async def create_consumer(self, stream, config):
        return await self.call("CONSUMER.CREATE.%s.%s" % (stream, config["durable_name"]),
                               {"stream_name": stream, "config": config, "action": "create"})

    async def delete_consumer(self, stream, name):
        return await self.call("CONSUMER.DELETE.%s.%s" % (stream, name))


def parse_headers(raw):
    """NATS headers ("NATS/1.0\\r\\nKey: value\\r\\n...") as a dict of the last value of each key."""
    headers = {}
    if not raw:
        return headers
    for line in to_text(raw, errors="surrogate_or_replace").split("\r\n")[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip()] = value.strip()
    return headers


class WindowedPublisher(object):
    """Publishes to JetStream with up to `window` messages awaiting their PubAck.

    Every message carries the expected stream and expected last sequence, so JetStream stores it
    only directly after its predecessor: when one publish fails, every later one fails too and
    the stream always holds a gap-free prefix of the channel.
    """

    def __init__(self, nc, window, timeout):
        self.nc = nc
        self.window = window
        self.timeout = timeout
        self.prefix = None
        self.sub = None
        self.pending = {}
        self.slots = asyncio.Semaphore(window)
        self.error = None
        self.stored = 0
        self.duplicates = 0
        self.last_seq = 0

    async def start(self):
        self.prefix = self.nc.new_inbox() + "."
        self.sub = await self.nc.subscribe(self.prefix + "*", cb=self._on_ack)

    async def _on_ack(self, msg):
        token = msg.subject[len(self.prefix):]
        fut = self.pending.pop(token, None)
        if fut is None:
            return
        self.slots.release()
        try:
            answer = json.loads(msg.data)
        except ValueError:
            answer = {"error": {"description": "PubAck is not JSON: %r" % msg.data[:80]}}
        if answer.get("error"):
            if self.error is None:
                err = answer["error"]
                self.error = "JetStream refused message %s: %s (err_code %s)" % (
                    token, err.get("description"), err.get("err_code"))
        else:
            if answer.get("duplicate"):
                self.duplicates += 1
            else:
                self.stored += 1
            self.last_seq = max(self.last_seq, int(answer.get("seq") or 0))
        fut.set_result(True)

    async def publish(self, subject, data, headers, token):
        if self.error:
            raise MigrationIOError(self.error)
        await self.slots.acquire()
        self.pending[token] = asyncio.get_running_loop().create_future()
        await self.nc.publish(subject, data, reply=self.prefix + token, headers=headers)

    async def drain(self):
        """Wait for every outstanding PubAck; raise if any publish failed or an ack never came."""
        futures = list(self.pending.values())
        if futures:
            await self.nc.flush(timeout=self.timeout)
            done, not_done = await asyncio.wait(futures, timeout=self.timeout)
            if not_done:
                raise MigrationIOError("%d publishes to JetStream were not acknowledged within %ss"
                                       % (len(not_done), self.timeout))
        if self.error:
            raise MigrationIOError(self.error)

    async def close(self):
        if self.sub is not None:
            await self.sub.unsubscribe()
            self.sub = None
