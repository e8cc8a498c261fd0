"""Decision logic of stan_ft_status (plugins/module_utils/stan_monitor.py)."""

from __future__ import annotations

import io
import json
from urllib.error import HTTPError, URLError

import pytest

from ansible_collections.nats_streaming.ft.plugins.module_utils import stan_monitor as sm


def srv(name, state, server_id=None, cluster_id="test-cluster", error=None):
    serverz = None
    if state not in (sm.UNREACHABLE, sm.MISSING):
        serverz = {"state": state, "server_id": server_id or f"id-{name}", "cluster_id": cluster_id}
    return sm.server_record(name, f"http://{name}/streaming/serverz", serverz, error=error,
                            state=state if serverz is None else None)


def healthy():
    return [srv("stan-0", "FT_STANDBY", cluster_id=""), srv("stan-1", "FT_ACTIVE"), srv("stan-2", "FT_STANDBY", cluster_id="")]


# --- evaluate -----------------------------------------------------------------------------

def test_exactly_one_active_and_rest_standby_is_healthy():
    ok, msg, summary = sm.evaluate(healthy())
    assert ok is True
    assert summary == {"active": "stan-1", "standby": ["stan-0", "stan-2"]}
    assert msg == "exactly one server is FT_ACTIVE (stan-1), all others FT_STANDBY"


def test_no_active_names_every_server_and_state():
    servers = [srv("stan-0", "FT_STANDBY"), srv("stan-1", "FT_STANDBY"), srv("stan-2", "FT_STANDBY")]
    ok, msg, summary = sm.evaluate(servers)
    assert ok is False
    assert msg == "no server is FT_ACTIVE (stan-0: FT_STANDBY, stan-1: FT_STANDBY, stan-2: FT_STANDBY)"
    assert summary["active"] is None


def test_two_active_names_both_with_server_ids():
    servers = [srv("a-0", "FT_ACTIVE", "AAA"), srv("a-1", "FT_STANDBY"), srv("b-0", "FT_ACTIVE", "BBB")]
    ok, msg, summary = sm.evaluate(servers)
    assert ok is False
    assert msg.startswith("2 servers claim to be FT_ACTIVE: a-0 (server_id AAA), b-0 (server_id BBB); exactly one may be")
    assert summary["active"] is None and summary["standby"] == ["a-1"]


@pytest.mark.parametrize("state", ["STANDALONE", "FAILED", "SHUTDOWN", "CLUSTERED"])
def test_a_non_ft_state_beside_the_active_fails(state):
    servers = healthy()
    servers[2] = srv("stan-2", state)
    ok, msg = sm.evaluate(servers)[:2]
    assert ok is False
    assert msg == f"stan-2: {state}; every server but the active one must be FT_STANDBY"


def test_unreachable_server_fails_unless_ignored():
    servers = healthy()
    servers[0] = srv("stan-0", sm.UNREACHABLE, error="timed out")
    ok, msg, summary = sm.evaluate(servers)
    assert ok is False
    assert msg == "stan-0: UNREACHABLE (timed out) did not answer"
    ok, msg, summary = sm.evaluate(servers, ignore_unreachable=True)
    assert ok is True and summary == {"active": "stan-1", "standby": ["stan-2"]}


def test_ignore_unreachable_still_needs_an_active_server():
    servers = [srv("stan-0", sm.MISSING, error="pod does not exist"), srv("stan-1", "FT_STANDBY")]
    ok, msg = sm.evaluate(servers, ignore_unreachable=True)[:2]
    assert ok is False
    assert msg == "no server is FT_ACTIVE (stan-0: MISSING (pod does not exist), stan-1: FT_STANDBY)"


def test_failed_over_from_requires_a_different_active_process():
    ok, msg = sm.evaluate(healthy(), failed_over_from="id-stan-1")[:2]
    assert ok is False
    assert msg == "stan-1 is still the active server with server_id id-stan-1 (failed_over_from): no failover has happened yet"
    ok = sm.evaluate(healthy(), failed_over_from="some-older-id")[0]
    assert ok is True


def test_servers_of_different_clusters_fail():
    servers = [srv("stan-0", "FT_ACTIVE", cluster_id="one"), srv("x-0", "FT_STANDBY", cluster_id="two")]
    ok, msg = sm.evaluate(servers)[:2]
    assert ok is False
    assert msg == "the servers belong to different clusters (cluster ids one, two)"


def test_no_servers_is_not_healthy():
    ok, msg, summary = sm.evaluate([])
    assert ok is False and msg == "no NATS Streaming servers were found to check"
    assert summary == {"active": None, "standby": []}


# --- serverz parsing and URLs -------------------------------------------------------------

def test_parse_serverz_accepts_a_serverz_document():
    assert sm.parse_serverz(b'{"state": "FT_ACTIVE", "server_id": "x"}')["state"] == "FT_ACTIVE"


@pytest.mark.parametrize(
    "body, reason",
    [(b"<html>404</html>", "answer is not JSON: '<html>404</html>'"),
     (b'{"server_id": "nats-only"}', "answer has no 'state'"),
     (b"[1, 2]", "answer has no 'state'")],
)
def test_parse_serverz_rejects_other_answers(body, reason):
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace("[", r"\[")):
        sm.parse_serverz(body)


@pytest.mark.parametrize(
    "url, expected",
    [("http://stan-0.stan:8222", "http://stan-0.stan:8222/streaming/serverz"),
     ("http://stan-0.stan:8222/", "http://stan-0.stan:8222/streaming/serverz"),
     ("https://h:1/streaming/serverz", "https://h:1/streaming/serverz")],
)
def test_serverz_url(url, expected):
    assert sm.serverz_url(url) == expected


@pytest.mark.parametrize("url", ["stan-0:8222", "ftp://h/", "http://"])
def test_check_monitor_url_rejects_non_http(url):
    assert "is not an http(s) URL" in sm.check_monitor_url(url)


def test_validate_params_names_options():
    problems = sm.validate_params({"monitor_urls": ["h:1"], "wait_timeout": -1, "wait_sleep": 0, "request_timeout": 0})
    assert problems == [
        "monitor_urls: 'h:1' is not an http(s) URL such as http://stan-0.stan:8222",
        "wait_timeout must be 0 or more seconds",
        "wait_sleep must be more than 0 seconds",
        "request_timeout must be more than 0 seconds",
    ]
    assert sm.validate_params({"statefulset": "stan", "namespace": None}) == [
        "namespace is required with statefulset or label_selectors: set namespace to the STAN namespace"
    ]
    assert sm.validate_params({"monitor_urls": []}) == [
        "monitor_urls is empty: list at least one monitor URL, e.g. http://127.0.0.1:8222"
    ]


# --- UrlSource: errors of one server become that server's record ---------------------------

class Resp:
    def __init__(self, body):
        self._body = body

    def read(self):
        return self._body


def opener_for(outcomes):
    def _open(url, **kwargs):
        assert kwargs["timeout"] == 1.5
        outcome = outcomes[url]
        if isinstance(outcome, Exception):
            raise outcome
        return Resp(outcome)

    return _open


def test_url_source_turns_each_failure_into_an_unreachable_record():
    base = "http://h{}:8222"
    outcomes = {
        f"{base.format(0)}/streaming/serverz": json.dumps({"state": "FT_ACTIVE", "server_id": "A", "clients": 2}).encode(),
        f"{base.format(1)}/streaming/serverz": TimeoutError("timed out"),
        f"{base.format(2)}/streaming/serverz": URLError(ConnectionRefusedError(111, "Connection refused")),
        f"{base.format(3)}/streaming/serverz": HTTPError("u", 404, "Not Found", {}, io.BytesIO(b"")),
        f"{base.format(4)}/streaming/serverz": b"not json",
    }
    source = sm.UrlSource([base.format(i) for i in range(5)], 1.5, opener=opener_for(outcomes))
    records = source.servers()
    assert [r["name"] for r in records] == ["h0:8222", "h1:8222", "h2:8222", "h3:8222", "h4:8222"]
    assert records[0]["state"] == "FT_ACTIVE" and records[0]["clients"] == 2 and records[0]["error"] is None
    assert [r["state"] for r in records[1:]] == [sm.UNREACHABLE] * 4
    assert records[1]["error"] == "timed out"
    assert "Connection refused" in records[2]["error"]
    assert records[3]["error"] == "HTTP 404 Not Found"
    assert records[4]["error"] == "answer is not JSON: 'not json'"


# --- poll: bounded wait ----------------------------------------------------------------------

class Sequence:
    """A source that returns the given server lists one after the other (the last one repeats)."""

    def __init__(self, *rounds):
        self.rounds = list(rounds)
        self.calls = 0

    def servers(self):
        self.calls += 1
        return self.rounds[min(self.calls, len(self.rounds)) - 1]


class Clock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def no_active():
    return [srv("stan-0", "FT_STANDBY"), srv("stan-1", "FT_STANDBY")]


def test_poll_without_wait_reads_once():
    clock = Clock()
    source = Sequence(no_active(), healthy())
    ok, msg, result = sm.poll(source, wait=False, wait_timeout=60, wait_sleep=1, clock=clock, sleep=clock.sleep)
    assert ok is False and source.calls == 1 and clock.sleeps == []
    assert result["attempts"] == 1 and result["active"] is None
    assert "still not healthy" not in msg


def test_poll_waits_until_healthy():
    clock = Clock()
    source = Sequence(no_active(), no_active(), healthy())
    ok, _msg, result = sm.poll(source, wait=True, wait_timeout=60, wait_sleep=2, clock=clock, sleep=clock.sleep)
    assert ok is True and result["attempts"] == 3 and clock.sleeps == [2, 2]
    assert result["active"] == "stan-1" and result["elapsed"] == 4.0


def test_poll_gives_up_after_wait_timeout_and_says_so():
    clock = Clock()
    source = Sequence(no_active())
    ok, msg, result = sm.poll(source, wait=True, wait_timeout=5, wait_sleep=2, clock=clock, sleep=clock.sleep)
    assert ok is False
    assert clock.sleeps == [2, 2, 1]  # the last sleep is cut to the deadline
    assert result["attempts"] == 4 and result["elapsed"] == 5.0
    assert msg.endswith("; still not healthy after waiting 5s (4 attempts)")
    assert msg.startswith("no server is FT_ACTIVE (stan-0: FT_STANDBY, stan-1: FT_STANDBY)")


def test_poll_with_zero_timeout_reads_once():
    clock = Clock()
    source = Sequence(no_active(), healthy())
    ok, _msg, result = sm.poll(source, wait=True, wait_timeout=0, wait_sleep=2, clock=clock, sleep=clock.sleep)
    assert ok is False and result["attempts"] == 1 and clock.sleeps == []
