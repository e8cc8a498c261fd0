# -*- coding: utf-8 -*-
# Copyright: nats_streaming.ft contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read /streaming/serverz of every NATS Streaming server and judge the FT state.

A fault-tolerant group is healthy when exactly one server is FT_ACTIVE and every other
server is FT_STANDBY. This file holds the decision (``evaluate``), the plain-HTTP source of
serverz documents (``UrlSource``) and ``run(module)`` for the ``stan_ft_status`` module; the
Kubernetes pod-proxy source lives in ``stan_k8s``.
"""

from __future__ import absolute_import, division, print_function

import json
import time

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlparse
from ansible.module_utils.urls import open_url

FT_ACTIVE = "FT_ACTIVE"
FT_STANDBY = "FT_STANDBY"
# Not STAN states: what this module reports when a server could not be read.
UNREACHABLE = "UNREACHABLE"
MISSING = "MISSING"

SERVERZ_PATH = "/streaming/serverz"

# serverz fields copied into every server record (None when the server did not answer).
SERVERZ_FIELDS = (
    "cluster_id",
    "server_id",
    "version",
    "role",
    "start_time",
    "uptime",
    "clients",
    "subscriptions",
    "channels",
    "total_msgs",
    "total_bytes",
    "in_msgs",
    "out_msgs",
)


class SourceError(Exception):
    """The list of servers itself could not be obtained (not one server's failure)."""


def server_record(name, endpoint, serverz=None, error=None, state=None):
    """One server as the module returns it."""
    record = {"name": name, "endpoint": endpoint, "error": error}
    serverz = serverz or {}
    record["state"] = state or serverz.get("state") or UNREACHABLE
    for key in SERVERZ_FIELDS:
        record[key] = serverz.get(key)
    return record


def parse_serverz(body):
    """Decode a serverz answer; ValueError with a readable reason when it is not one."""
    try:
        data = json.loads(to_text(body, errors="surrogate_or_strict"))
    except ValueError:
        snippet = to_text(body, errors="surrogate_or_replace")[:80]
        raise ValueError("answer is not JSON: %r" % snippet)
    if not isinstance(data, dict) or not data.get("state"):
        raise ValueError("answer has no 'state': it is not a NATS Streaming /streaming/serverz document")
    return data


def describe(server):
    text = "%s: %s" % (server["name"], server["state"])
    if server.get("error"):
        text += " (%s)" % server["error"]
    return text


def evaluate(servers, failed_over_from=None, ignore_unreachable=False):
    """Judge a list of server records.

    Returns ``(ok, message, summary)`` where summary holds ``active`` (name or None) and
    ``standby`` (names). Healthy means exactly one FT_ACTIVE server and every other server
    FT_STANDBY; with ``ignore_unreachable`` servers that did not answer are left out of the
    judgement (they are still returned). With ``failed_over_from`` (a server_id) the active
    server must also be a different process than that one.
    """
    actives = [s for s in servers if s["state"] == FT_ACTIVE]
    standbys = [s for s in servers if s["state"] == FT_STANDBY]
    unreachable = [s for s in servers if s["state"] in (UNREACHABLE, MISSING)]
    others = [s for s in servers if s["state"] not in (FT_ACTIVE, FT_STANDBY, UNREACHABLE, MISSING)]
    summary = {
        "active": actives[0]["name"] if len(actives) == 1 else None,
        "standby": [s["name"] for s in standbys],
    }
    problems = []
    if not servers:
        return False, "no NATS Streaming servers were found to check", summary
    if len(actives) > 1:
        problems.append(
            "%d servers claim to be FT_ACTIVE: %s; exactly one may be (are they in different FT groups, or on a"
            " filesystem whose locks do not work?)"
            % (len(actives), ", ".join("%s (server_id %s)" % (s["name"], s["server_id"]) for s in actives))
        )
    elif not actives:
        problems.append("no server is FT_ACTIVE (%s)" % ", ".join(describe(s) for s in servers))
    if others:
        problems.append(
            "%s; every server but the active one must be FT_STANDBY" % ", ".join(describe(s) for s in others)
        )
    if unreachable and not ignore_unreachable:
        problems.append("%s did not answer" % ", ".join(describe(s) for s in unreachable))
    cluster_ids = sorted(set(s["cluster_id"] for s in servers if s.get("cluster_id")))
    if len(cluster_ids) > 1:
        problems.append("the servers belong to different clusters (cluster ids %s)" % ", ".join(cluster_ids))
    if failed_over_from and len(actives) == 1 and actives[0]["server_id"] == failed_over_from:
        problems.append(
            "%s is still the active server with server_id %s (failed_over_from): no failover has happened yet"
            % (actives[0]["name"], failed_over_from)
        )
    if problems:
        return False, "; ".join(problems), summary
    return True, "exactly one server is FT_ACTIVE (%s), all others FT_STANDBY" % summary["active"], summary


def serverz_url(url):
    """A monitor base URL (http://host:8222) or a full serverz URL -> the serverz URL."""
    url = url.rstrip("/")
    if url.endswith(SERVERZ_PATH):
        return url
    return url + SERVERZ_PATH


def check_monitor_url(url):
    """None when the URL is usable, otherwise the reason."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return "%r is not an http(s) URL such as http://stan-0.stan:8222" % url
    return None


def name_from_url(url):
    return urlparse(url).netloc


class UrlSource:
    """Reads serverz directly from monitor URLs (plain HTTP through ansible's open_url)."""

    def __init__(self, urls, timeout, opener=open_url):
        self.urls = list(urls)
        self.timeout = timeout
        self._open = opener

    def fetch(self, url):
        endpoint = serverz_url(url)
        name = name_from_url(url)
        try:
            resp = self._open(endpoint, method="GET", timeout=self.timeout, headers={"Accept": "application/json"})
            return server_record(name, endpoint, parse_serverz(resp.read()))
        except HTTPError as e:
            return server_record(name, endpoint, error="HTTP %s %s" % (e.code, to_native(e.reason)))
        except URLError as e:
            return server_record(name, endpoint, error=to_native(e.reason))
        except (OSError, http_client.HTTPException) as e:
            return server_record(name, endpoint, error=to_native(e) or e.__class__.__name__)
        except ValueError as e:
            return server_record(name, endpoint, error=to_native(e))

    def servers(self):
        return [self.fetch(url) for url in self.urls]


def poll(source, wait, wait_timeout, wait_sleep, failed_over_from=None, ignore_unreachable=False,
         clock=time.monotonic, sleep=time.sleep):
    """Read every server, and with ``wait`` read again until healthy or wait_timeout passed.

    Polling serverz is the only way to see an FT state change: STAN publishes no event for
    it and neither Kubernetes nor botocore has a waiter for it, so a bounded loop is used.
    """
    start = clock()
    deadline = start + wait_timeout
    attempts = 0
    while True:
        servers = source.servers()
        attempts += 1
        ok, msg, summary = evaluate(servers, failed_over_from=failed_over_from, ignore_unreachable=ignore_unreachable)
        now = clock()
        if ok or not wait or now >= deadline:
            break
        sleep(max(0.0, min(wait_sleep, deadline - now)))
    result = {
        "servers": servers,
        "active": summary["active"],
        "standby": summary["standby"],
        "attempts": attempts,
        "elapsed": round(clock() - start, 3),
    }
    if not ok and wait:
        msg = "%s; still not healthy after waiting %ss (%d attempts)" % (msg, wait_timeout, attempts)
    return ok, msg, result


def validate_params(params):
    """Problems with the options that argument_spec cannot express, as a list of messages."""
    problems = []
    for url in params.get("monitor_urls") or []:
        reason = check_monitor_url(url)
        if reason:
            problems.append("monitor_urls: %s" % reason)
    k8s_mode = bool(params.get("statefulset") or params.get("label_selectors"))
    if k8s_mode and not params.get("namespace"):
        problems.append("namespace is required with statefulset or label_selectors: set namespace to the STAN namespace")
    if params.get("monitor_urls") is not None and not params.get("monitor_urls"):
        problems.append("monitor_urls is empty: list at least one monitor URL, e.g. http://127.0.0.1:8222")
    if params.get("wait_timeout", 0) < 0:
        problems.append("wait_timeout must be 0 or more seconds")
    if params.get("wait_sleep", 1) <= 0:
        problems.append("wait_sleep must be more than 0 seconds")
    if params.get("request_timeout", 1) <= 0:
        problems.append("request_timeout must be more than 0 seconds")
    return problems


def build_source(module):
    params = module.params
    if params.get("monitor_urls"):
        return UrlSource(params["monitor_urls"], params["request_timeout"])
    from ansible_collections.nats_streaming.ft.plugins.module_utils.stan_k8s import K8sSource, k8s_client

    return K8sSource(
        k8s_client(module),
        namespace=params["namespace"],
        statefulset=params.get("statefulset"),
        label_selectors=params.get("label_selectors"),
        port=params["monitor_port"],
        timeout=params["request_timeout"],
    )


def run(module):
    params = module.params
    problems = validate_params(params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        source = build_source(module)
        ok, msg, result = poll(
            source,
            wait=params["wait"],
            wait_timeout=params["wait_timeout"],
            wait_sleep=params["wait_sleep"],
            failed_over_from=params.get("failed_over_from"),
            ignore_unreachable=params["ignore_unreachable"],
        )
    except SourceError as e:
        module.fail_json(msg=to_native(e))
    if not ok:
        module.fail_json(msg=msg, changed=False, **result)
    module.exit_json(changed=False, msg=msg, **result)
