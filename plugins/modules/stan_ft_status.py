#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

DOCUMENTATION = r"""
module: stan_ft_status
short_description: Check that exactly one NATS Streaming server of an FT group is active
version_added: 0.1.0
description:
  - Reads C(/streaming/serverz) of every NATS Streaming (STAN) server of a fault-tolerant (FT) group and
    returns each server's name, state, server_id, clients, channels and message counts, plus which
    server is active and which are standby.
  - Fails unless exactly one server is C(FT_ACTIVE) and every other server is C(FT_STANDBY). The failure
    message names every server and its state, so "no active server" (for example every server stuck in
    standby because the store lock is held elsewhere) and "two servers claim to be active" (for example two
    FT groups with different stores behind one service) are told apart.
  - The servers are read either through the Kubernetes API server's pod proxy (O(namespace) plus
    O(statefulset) or O(label_selectors), authenticated with the kubernetes.core options), or directly
    from a list of O(monitor_urls).
  - With O(wait=true) the servers are read again every O(wait_sleep) seconds until the check passes or
    O(wait_timeout) seconds have passed. STAN announces no FT state change, so polling serverz is the
    only way to observe one.
author:
  - nats_streaming.ft maintainers (@nats-streaming-ft)
options:
  monitor_urls:
    description:
      - Monitor endpoints of the servers, such as V(http://stan-0.stan:8222); C(/streaming/serverz) is
        appended unless the URL already ends with it.
      - Read with plain HTTP(S) from where the module runs. Mutually exclusive with O(statefulset) and
        O(label_selectors).
    type: list
    elements: str
  namespace:
    description:
      - Namespace of the STAN pods. Required with O(statefulset) or O(label_selectors).
    type: str
  statefulset:
    description:
      - Name of the STAN StatefulSet. Its pods are found by its label selector, and every ordinal below
        its C(spec.replicas) is expected; a missing pod is reported with state C(MISSING).
    type: str
  label_selectors:
    description:
      - Label selectors (C(key=value), C(key in (a,b)), ...) that find the STAN pods, all of which must match.
    type: list
    elements: str
  monitor_port:
    description:
      - Monitoring port of the STAN container, read through the pod proxy.
    type: int
    default: 8222
  request_timeout:
    description:
      - Seconds to wait for one server's answer. A hung server (for example a stopped process that still
        holds the store lock) is reported as C(UNREACHABLE) after this time.
    type: float
    default: 5.0
  wait:
    description:
      - Read the servers again until exactly one is C(FT_ACTIVE) and the rest C(FT_STANDBY).
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds to wait with O(wait=true) before failing.
    type: int
    default: 120
  wait_sleep:
    description:
      - Seconds between two reads with O(wait=true).
    type: float
    default: 2.0
  failed_over_from:
    description:
      - The C(server_id) of the server that was active before a failover (as returned in RV(servers)).
        The check then also requires that the active server is another process, which lets a drill wait for
        the failover to finish instead of seeing the old active server still answering.
    type: str
  ignore_unreachable:
    description:
      - Leave servers that do not answer (or pods that are not running) out of the judgement; they are still
        returned. Useful while a killed pod is being recreated.
    type: bool
    default: false
extends_documentation_fragment:
  - nats_streaming.ft.k8s_auth
  - nats_streaming.ft.attributes
  - nats_streaming.ft.attributes.info_module
requirements:
  - kubernetes >= 24.2.0 (only to read through the Kubernetes API server)
notes:
  - A standby server answers serverz with state C(FT_STANDBY) and no channel or message counts; the counts
    come from the active server.
  - A server whose process is stopped (SIGSTOP) or hung keeps the store lock, so no standby can take over
    until the process is killed; it shows up as C(UNREACHABLE) after O(request_timeout) seconds.
seealso:
  - name: NATS Streaming monitoring endpoints
    description: What /streaming/serverz returns.
    link: https://docs.nats.io/legacy/stan/nats-streaming-server/monitoring/endpoints
"""

EXAMPLES = r"""
- name: Check the FT state through the Kubernetes API server
  nats_streaming.ft.stan_ft_status:
    namespace: messaging
    statefulset: stan
  register: stan_ft

- name: Show the active server
  ansible.builtin.debug:
    msg: "{{ stan_ft.active }} is active, standby: {{ stan_ft.standby | join(', ') }}"

- name: Wait up to two minutes for one active and two standby servers after a deploy
  nats_streaming.ft.stan_ft_status:
    namespace: messaging
    label_selectors:
      - app=stan
    wait: true
    wait_timeout: 120

- name: Wait for a standby to take over from the server that was active
  nats_streaming.ft.stan_ft_status:
    namespace: messaging
    statefulset: stan
    failed_over_from: "{{ stan_ft.servers | selectattr('state', 'eq', 'FT_ACTIVE') | map(attribute='server_id') | first }}"
    ignore_unreachable: true
    wait: true
    wait_sleep: 0.5
    wait_timeout: 60

- name: Read the servers directly from their monitor ports
  nats_streaming.ft.stan_ft_status:
    monitor_urls:
      - http://10.0.1.10:8222
      - http://10.0.2.10:8222
      - http://10.0.3.10:8222
    request_timeout: 3
"""

RETURN = r"""
active:
  description: Name of the one C(FT_ACTIVE) server; null when there is none or more than one.
  returned: always
  type: str
  sample: stan-1
standby:
  description: Names of the C(FT_STANDBY) servers.
  returned: always
  type: list
  elements: str
  sample: [stan-0, stan-2]
servers:
  description:
    - Every server that was read, in name order. Also returned when the module fails.
    - O(monitor_urls) servers are named by host and port, pods by pod name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Pod name, or host:port of the monitor URL.
      type: str
      sample: stan-1
    endpoint:
      description: The serverz URL or API server proxy path that was read.
      type: str
      sample: /api/v1/namespaces/messaging/pods/stan-1:8222/proxy/streaming/serverz
    state:
      description:
        - The server's state (C(FT_ACTIVE), C(FT_STANDBY), C(FAILED), C(SHUTDOWN), C(STANDALONE), C(CLUSTERED)),
          or C(UNREACHABLE) when it did not answer, or C(MISSING) when a StatefulSet pod does not exist.
      type: str
      sample: FT_ACTIVE
    error:
      description: Why the server could not be read; null when it answered.
      type: str
      sample: null
    server_id:
      description: The server process's unique id (changes at every start).
      type: str
      sample: PntnbyuoNzr5c0zrZcVp5s
    cluster_id:
      description: The STAN cluster id.
      type: str
      sample: test-cluster
    version:
      description: Server version.
      type: str
      sample: 0.25.6
    role:
      description: Raft role (clustered mode only).
      type: str
      sample: null
    start_time:
      description: When the server process started.
      type: str
      sample: "2024-01-01T10:00:00Z"
    uptime:
      description: Server uptime.
      type: str
      sample: 1h2m3s
    clients:
      description: Connected STAN clients.
      type: int
      sample: 4
    subscriptions:
      description: Subscriptions.
      type: int
      sample: 2
    channels:
      description: Channels.
      type: int
      sample: 1
    total_msgs:
      description: Messages stored in all channels.
      type: int
      sample: 2000
    total_bytes:
      description: Bytes stored in all channels.
      type: int
      sample: 52000
    in_msgs:
      description: Messages received since the server started.
      type: int
      sample: 1000
    out_msgs:
      description: Messages delivered since the server started.
      type: int
      sample: 2000
attempts:
  description: How many times the servers were read.
  returned: always
  type: int
  sample: 3
elapsed:
  description: Seconds spent reading (and waiting).
  returned: always
  type: float
  sample: 1.52
msg:
  description: What was found.
  returned: always
  type: str
  sample: exactly one server is FT_ACTIVE (stan-1), all others FT_STANDBY
"""

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.nats_streaming.ft.plugins.module_utils.stan_monitor import run


def argument_spec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        monitor_urls=dict(type="list", elements="str"),
        namespace=dict(type="str"),
        statefulset=dict(type="str"),
        label_selectors=dict(type="list", elements="str"),
        monitor_port=dict(type="int", default=8222),
        request_timeout=dict(type="float", default=5.0),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=120),
        wait_sleep=dict(type="float", default=2.0),
        failed_over_from=dict(type="str"),
        ignore_unreachable=dict(type="bool", default=False),
    )
    return spec


def main():
    module = AnsibleK8SModule(
        module_class=AnsibleModule,
        check_k8s=False,
        check_pyyaml=False,
        argument_spec=argument_spec(),
        mutually_exclusive=[("monitor_urls", "statefulset"), ("monitor_urls", "label_selectors"),
                            ("statefulset", "label_selectors")],
        required_one_of=[("monitor_urls", "statefulset", "label_selectors")],
        supports_check_mode=True,
    )
    run(module)


if __name__ == "__main__":
    main()
