"""The tests' own JetStream client (nats-py's JetStream API), independent of the migration code:
what the tests read back from JetStream, they read with this."""

from __future__ import annotations

import asyncio

import nats
from nats.js.api import ConsumerConfig, StreamConfig


def run(coro):
    return asyncio.run(coro)


async def _with_js(urls: str, fn):
    nc = await nats.connect(servers=urls.split(","), connect_timeout=5, allow_reconnect=False)
    try:
        return await fn(nc, nc.jetstream(timeout=10))
    finally:
        await nc.close()


def stream_info(urls: str, name: str):
    """StreamInfo, or None when the stream does not exist."""
    async def fn(_nc, js):
        try:
            return await js.stream_info(name)
        except nats.js.errors.NotFoundError:
            return None
    return run(_with_js(urls, fn))


def stream_names(urls: str) -> list[str]:
    async def fn(_nc, js):
        return sorted(s.config.name for s in await js.streams_info())
    return run(_with_js(urls, fn))


def get_msgs(urls: str, stream: str, seqs: list[int]) -> dict[int, tuple[bytes, dict]]:
    async def fn(_nc, js):
        out = {}
        for seq in seqs:
            msg = await js.get_msg(stream, seq)
            out[seq] = (msg.data, dict(msg.headers or {}))
        return out
    return run(_with_js(urls, fn))


def consumer_info(urls: str, stream: str, name: str):
    async def fn(_nc, js):
        return await js.consumer_info(stream, name)
    return run(_with_js(urls, fn))


def fetch(urls: str, stream: str, consumer: str, n: int, ack: bool = True) -> list[tuple[int, bytes]]:
    """Pull n messages from a durable consumer; returns (stream sequence, payload) pairs."""
    async def fn(_nc, js):
        sub = await js.pull_subscribe_bind(consumer, stream=stream)
        got = []
        while len(got) < n:
            for msg in await sub.fetch(min(256, n - len(got)), timeout=10):
                got.append((msg.metadata.sequence.stream, msg.data))
                if ack:
                    await msg.ack_sync()
        return got
    return run(_with_js(urls, fn))


def publish(urls: str, subject: str, payloads: list[bytes]) -> list[int]:
    async def fn(_nc, js):
        return [(await js.publish(subject, p)).seq for p in payloads]
    return run(_with_js(urls, fn))


def add_stream(urls: str, name: str, subjects: list[str], **kwargs) -> None:
    async def fn(_nc, js):
        await js.add_stream(StreamConfig(name=name, subjects=subjects, **kwargs))
    run(_with_js(urls, fn))


def add_consumer(urls: str, stream: str, name: str, **kwargs) -> None:
    async def fn(_nc, js):
        await js.add_consumer(stream, ConsumerConfig(durable_name=name, **kwargs))
    run(_with_js(urls, fn))


def all_msgs(urls: str, stream: str, subject: str, n: int) -> list[tuple[int, dict]]:
    """Every message of the stream through an ordered consumer: (stream sequence, headers) pairs."""
    async def fn(_nc, js):
        sub = await js.subscribe(subject, ordered_consumer=True)
        out = []
        try:
            while len(out) < n:
                msg = await sub.next_msg(timeout=10)
                out.append((msg.metadata.sequence.stream, dict(msg.headers or {})))
        finally:
            await sub.unsubscribe()
        return out
    return run(_with_js(urls, fn))
