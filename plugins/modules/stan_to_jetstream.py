#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
module: stan_to_jetstream
short_description: Copy NATS Streaming channels and durable subscriptions into JetStream, and verify the copy
version_added: 0.1.0
description:
  - Migrates NATS Streaming (STAN) channels to JetStream streams and STAN durable subscriptions (plain and queue)
    to JetStream durable pull consumers, then verifies the result. STAN is only read, never changed.
  - "Pre-flight, before anything is written: STAN is healthy (exactly one C(FT_ACTIVE) server and the others
    C(FT_STANDBY), or one standalone server); the channels and their durable subscriptions are read from the
    active server's C(/streaming/channelsz?subs=1); the JetStream cluster is healthy (one meta leader named by
    every server of O(jetstream_monitor_urls), every peer current); both are reachable over NATS."
  - "Plan: each channel becomes a stream (name and subjects from O(mapping), by default the channel name with
    C(.) replaced by C(_) and the channel name as subject; replicas = the JetStream cluster size unless set). The
    stream is created with C(first_seq) = the channel's first sequence, so every message keeps its STAN sequence.
    Each durable becomes a consumer starting at the durable's next message. Every conflict (an unknown channel,
    a stream that exists with another config or holds foreign messages, a taken subject, a durable with
    unacknowledged messages) fails the task with every problem listed and nothing written."
  - "Copy: each channel is read from the first message the stream does not hold yet and published in order with
    C(Nats-Msg-Id) and C(Nats-Expected-Last-Sequence), so the stream is always a gap-free prefix of the channel
    and a run killed at any point resumes where it stopped without duplicating a message. The original STAN
    timestamp (nanoseconds since the epoch), sequence and channel travel as the headers C(Stan-Timestamp),
    C(Stan-Sequence) and C(Stan-Channel)."
  - "Verify: for every channel, the stream's message count, first and last sequence equal the channel's, and the
    payloads and timestamps of the first, the last and O(verify_samples) random messages match byte for byte;
    every consumer's next delivery is its durable's next message. The task fails with a report otherwise."
  - A rerun copies only what is new in the channels and reports C(changed=false) when there is nothing to do,
    which also makes repeated runs during a dual-run period incremental.
author:
  - nats_streaming.ft maintainers (@nats-streaming-ft)
options:
  state:
    description:
      - C(migrated) plans, copies what is missing and verifies.
      - C(verified) only plans and verifies; it never writes. Use it as the gate before decommissioning STAN.
    type: str
    choices: [migrated, verified]
    default: migrated
  stan_servers:
    description: NATS URLs where the STAN cluster's clients connect (its embedded or external NATS).
    type: list
    elements: str
    required: true
  stan_cluster_id:
    description: The STAN cluster id.
    type: str
    default: test-cluster
  stan_monitor_urls:
    description:
      - Monitoring endpoints of every STAN server, such as V(http://stan-0.stan:8222). The active server is found
        through C(/streaming/serverz) and the inventory read from it.
    type: list
    elements: str
    required: true
  stan_user:
    description: User name for the STAN side's NATS connection.
    type: str
  stan_password:
    description: Password for the STAN side's NATS connection.
    type: str
  stan_token:
    description: Token for the STAN side's NATS connection.
    type: str
  jetstream_servers:
    description: NATS URLs of the JetStream cluster.
    type: list
    elements: str
    required: true
  jetstream_monitor_urls:
    description: Monitoring endpoints of every JetStream server (C(/jsz) is read for the cluster's health and size).
    type: list
    elements: str
    required: true
  jetstream_user:
    description: User name for the JetStream connection.
    type: str
  jetstream_password:
    description: Password for the JetStream connection.
    type: str
  jetstream_token:
    description: Token for the JetStream connection.
    type: str
  channels:
    description: Channels to migrate; all channels by default. A name STAN does not have fails the task.
    type: list
    elements: str
  mapping:
    description:
      - "Per channel: C(stream) (stream name), C(subjects) (list of literal subjects; messages are published on the
        first), and any key of O(stream_defaults). A channel STAN does not have fails the task."
    type: dict
    default: {}
  stream_defaults:
    description:
      - "Limits of every stream: C(replicas) (default the JetStream cluster size, at most 5), C(storage) (C(file) or
        C(memory), default C(file)), C(max_age) (seconds, 0 = unlimited), C(max_msgs) and C(max_bytes) (-1 =
        unlimited), C(duplicate_window) (seconds, default 120). STAN's own limits are not copied: set them here."
    type: dict
    default: {}
  durable_pending:
    description:
      - What to do with a durable that has unacknowledged messages. STAN reports how many but not which, so there
        is no exact start for its consumer.
      - C(fail) stops before writing anything. C(after_last_sent) starts the consumer after the last message STAN
        sent it (the unacknowledged messages are not delivered again by JetStream).
    type: str
    choices: [fail, after_last_sent]
    default: fail
  verify:
    description: Verify after copying (always done with O(state=verified)).
    type: bool
    default: true
  verify_samples:
    description: Random messages per channel compared byte for byte, on top of the first and the last.
    type: int
    default: 3
  publish_window:
    description: Messages published to JetStream ahead of their acknowledgement.
    type: int
    default: 256
  request_timeout:
    description: Seconds to wait for one answer from a server.
    type: float
    default: 10.0
  client_id_prefix:
    description:
      - Prefix of the STAN client id the migration reads with (a random suffix is added per run). Subscriptions of
        such clients are left out of the inventory.
    type: str
    default: stan2js
extends_documentation_fragment:
  - nats_streaming.ft.attributes
  - nats_streaming.ft.attributes.check_mode
  - nats_streaming.ft.attributes.diff_mode
requirements:
  - nats-py >= 2.7
notes:
  - Run it where both NATS clusters and the monitoring ports are reachable (inside the Kubernetes cluster, for
    example from an AWX execution environment there, or through port forwards).
  - "What does not carry over: client ids and connections, non-durable subscriptions (listed in RV(not_migrated)),
    queue membership (JetStream pull consumers are shared by whoever fetches), STAN's channel limits (set
    O(stream_defaults)), and the reply subject of STAN messages."
seealso:
  - module: nats_streaming.ft.stan_ft_status
"""

EXAMPLES = r"""
- name: Show what would be migrated
  nats_streaming.ft.stan_to_jetstream:
    stan_servers: [nats://stan.stan:4222]
    stan_monitor_urls: [http://stan-0.stan.stan:8222, http://stan-1.stan.stan:8222, http://stan-2.stan.stan:8222]
    jetstream_servers: [nats://nats.messaging:4222]
    jetstream_monitor_urls: [http://nats-0.nats-headless.messaging:8222, http://nats-1.nats-headless.messaging:8222,
                             http://nats-2.nats-headless.messaging:8222]
  check_mode: true
  register: migration_plan

- name: Migrate two channels, one under another stream name, keeping messages seven days
  nats_streaming.ft.stan_to_jetstream:
    stan_servers: [nats://stan.stan:4222]
    stan_monitor_urls: "{{ stan_monitors }}"
    jetstream_servers: [nats://nats.messaging:4222]
    jetstream_monitor_urls: "{{ jetstream_monitors }}"
    channels: [orders, orders.eu]
    mapping:
      orders.eu:
        stream: ORDERS_EU
        subjects: [orders.eu.migrated]
    stream_defaults:
      max_age: 604800

- name: Verify only (never writes), e.g. before decommissioning STAN
  nats_streaming.ft.stan_to_jetstream:
    state: verified
    stan_servers: [nats://stan.stan:4222]
    stan_monitor_urls: "{{ stan_monitors }}"
    jetstream_servers: [nats://nats.messaging:4222]
    jetstream_monitor_urls: "{{ jetstream_monitors }}"
"""

RETURN = r"""
plan:
  description: One entry per channel, with its stream, what is done and the consumers.
  returned: always
  type: list
  elements: dict
  contains:
    channel:
      description: STAN channel.
      type: str
    stream:
      description: JetStream stream.
      type: str
    action:
      description: C(create) (new stream), C(resume) (stream exists, messages missing) or C(none).
      type: str
    copy_from:
      description: First STAN sequence copied (null when nothing is copied).
      type: int
    copy_to:
      description: Last STAN sequence copied.
      type: int
    to_copy:
      description: Messages copied.
      type: int
    consumers:
      description:
        - One per durable subscription, with C(consumer), C(next_seq) and C(action) (C(create), C(none),
          C(recreate) for an unused consumer at an old position, C(in_use) for one JetStream clients already use).
      type: list
      elements: dict
summary:
  description: Streams to create, messages to copy and consumers to create.
  returned: always
  type: str
  sample: 3 stream(s) to create, 10000 message(s) to copy, 2 consumer(s) to create
copied:
  description: Messages stored per channel by this run.
  returned: when something was copied
  type: dict
  sample: {orders: 5000}
msgs_copied:
  description: Messages stored by this run.
  returned: when something was copied
  type: int
msgs_per_second:
  description: Messages stored per second of copying in this run.
  returned: when something was copied
  type: float
copy_seconds:
  description: Seconds spent creating streams, copying and creating consumers.
  returned: when something was copied
  type: float
verification:
  description:
    - One entry per channel with C(ok), C(problems), the C(samples) compared, C(stream_state), C(channel_state) and
      C(consumers) (each with C(ok) and C(problem)).
  returned: unless in check mode or with O(verify=false)
  type: list
  elements: dict
not_migrated:
  description: Subscriptions that do not carry over (non-durable), with their channel and client id.
  returned: always
  type: list
  elements: dict
stan_clients:
  description:
    - Client ids connected to STAN when the inventory was read (from C(/streaming/clientsz)); client ids do not
      carry over to JetStream. The migration's own reader is left out.
  returned: always
  type: list
  elements: str
  sample: [billing-svc, orders-api-1]
active_stan:
  description: Monitoring URL of the STAN server the inventory was read from.
  returned: always
  type: str
jetstream_cluster_size:
  description: Servers in the JetStream cluster (the default stream replicas, at most 5).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nats_streaming.ft.plugins.module_utils.stan_migration import run


def argument_spec():
    return dict(
        state=dict(type="str", choices=["migrated", "verified"], default="migrated"),
        stan_servers=dict(type="list", elements="str", required=True),
        stan_cluster_id=dict(type="str", default="test-cluster"),
        stan_monitor_urls=dict(type="list", elements="str", required=True),
        stan_user=dict(type="str"),
        stan_password=dict(type="str", no_log=True),
        stan_token=dict(type="str", no_log=True),
        jetstream_servers=dict(type="list", elements="str", required=True),
        jetstream_monitor_urls=dict(type="list", elements="str", required=True),
        jetstream_user=dict(type="str"),
        jetstream_password=dict(type="str", no_log=True),
        jetstream_token=dict(type="str", no_log=True),
        channels=dict(type="list", elements="str"),
        mapping=dict(type="dict", default={}),
        stream_defaults=dict(type="dict", default={}),
        durable_pending=dict(type="str", choices=["fail", "after_last_sent"], default="fail"),
        verify=dict(type="bool", default=True),
        verify_samples=dict(type="int", default=3),
        publish_window=dict(type="int", default=256),
        request_timeout=dict(type="float", default=10.0),
        client_id_prefix=dict(type="str", default="stan2js"),
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_together=[("stan_user", "stan_password"), ("jetstream_user", "jetstream_password")],
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
