"""STAN's protobuf messages (plugins/module_utils/stan_protocol.py) against hand-encoded bytes.

The expected bytes are worked out from the protocol buffers encoding rules (tag = field << 3 |
wire type, varints little-endian base 128, negative integers as 10-byte two's complement)."""

from __future__ import annotations

import pytest

from ansible_collections.nats_streaming.ft.plugins.module_utils import stan_protocol as pb


def test_ack_encodes_a_string_and_a_multi_byte_varint():
    # field 1 (string "foo"): 0x0a 0x03 'f' 'o' 'o'; field 2 (uint64 300): 0x10 0xac 0x02
    assert pb.encode("Ack", subject="foo", sequence=300) == b"\x0a\x03foo\x10\xac\x02"


def test_fields_at_their_default_are_not_sent():
    assert pb.encode("Ack", subject="", sequence=0) == b""
    assert pb.encode("SubscriptionRequest", clientID="c", startPosition=pb.START_NEW_ONLY) == b"\x0a\x01c"


def test_field_numbers_above_15_take_two_byte_tags():
    # startSequence is field 11 (tag 0x58), startTimeDelta field 12; publicKey field 100 (tag 0xa2 0x06)
    assert pb.encode("SubscriptionRequest", startSequence=1) == b"\x58\x01"
    assert pb.decode("ConnectResponse", b"\xa2\x06\x02pk")["publicKey"] == "pk"


def test_negative_int64_is_ten_bytes_and_round_trips():
    raw = pb.encode("SubscriptionRequest", startTimeDelta=-1)
    assert raw == b"\x60" + b"\xff" * 9 + b"\x01"
    assert pb.decode("SubscriptionRequest", raw)["startTimeDelta"] == -1


def test_msgproto_decodes_every_field_and_keeps_binary_payloads():
    payload = bytes(range(256))
    raw = (b"\x08\xe8\x07"                       # sequence 1000
           + b"\x12\x06orders"                    # subject
           + b"\x22\x80\x02" + payload            # data: 256 bytes (length varint 0x80 0x02)
           + b"\x28" + pb._varint(1795797313774335749)  # timestamp
           + b"\x30\x01"                          # redelivered
           + b"\x50\xff\xff\xff\xff\x0f")         # CRC32 0xffffffff
    msg = pb.decode("MsgProto", raw)
    assert msg == {"sequence": 1000, "subject": "orders", "reply": "", "data": payload,
                   "timestamp": 1795797313774335749, "redelivered": True, "CRC32": 0xFFFFFFFF}


def test_unknown_fields_of_every_wire_type_are_skipped():
    raw = (b"\x0a\x01x"              # subject "x"
           + b"\x78\x05"             # field 15 varint
           + b"\x81\x01" + b"\x00" * 8   # field 16 fixed64
           + b"\x8d\x01" + b"\x00" * 4   # field 17 fixed32
           + b"\x92\x01\x02ab"       # field 18 bytes
           + b"\x10\x07")            # sequence 7
    assert pb.decode("Ack", raw) == {"subject": "x", "sequence": 7}


@pytest.mark.parametrize("raw, reason", [
    (b"\x0a\x05ab", "runs past the end"),
    (b"\x10", "truncated varint"),
    (b"\x10" + b"\xff" * 11, "longer than 10 bytes"),
    (b"\x0a\x01x\x08\x01", None),            # field 1 sent as a varint: wrong wire type
    (b"\x0b", "unsupported wire type"),
])
def test_malformed_messages_raise_protocol_error(raw, reason):
    with pytest.raises(pb.ProtocolError) as err:
        pb.decode("Ack", raw)
    if reason:
        assert reason in str(err.value)


def test_unknown_field_names_are_refused_when_encoding():
    with pytest.raises(KeyError, match="Ack has no field"):
        pb.encode("Ack", seq=1)


def test_encode_decode_round_trip_of_a_subscription_request():
    values = {"clientID": "stan2js-abc", "subject": "orders.eu", "inbox": "_INBOX.x", "maxInFlight": 256,
              "ackWaitInSecs": 30, "startPosition": pb.START_SEQUENCE, "startSequence": 2**40}
    decoded = pb.decode("SubscriptionRequest", pb.encode("SubscriptionRequest", **values))
    assert {k: decoded[k] for k in values} == values
    assert decoded["qGroup"] == "" and decoded["durableName"] == ""
