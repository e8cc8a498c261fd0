"""Fault tolerance at the level of the store lock: three nats-streaming-server processes from the
stan role's stan.conf, one FT group, one shared store directory, embedded NATS routed over 127.0.0.1.

The same faults on the StatefulSet's pods run in tests/e2e (with a kubelet, probes and the pod
proxy in the way). What these processes show that pods cannot: the server's own takeover time,
from SIGKILL to the first serverz answer showing FT_ACTIVE on a survivor, polled every 50 ms
directly (no kubelet, no API server, no proxy between); and what a stopped active server does
when nothing kills it (on a pod the liveness probe does, by design).
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.lib import procs
from tests.lib.stan import http_get

from .helpers import assert_channel_complete, assert_published, wait_for_new_active

pytestmark = pytest.mark.stan

BATCH = 1000


def test_stan_ft_status_reports_one_active_and_two_standby(stan_cluster, ft_status):
    active = stan_cluster.active()
    assert active is not None
    play, result = ft_status(stan_cluster.monitor_urls())
    assert play.rc == 0, result
    names = {s.monitor_url.split("//")[1]: s.name for s in stan_cluster.servers}
    assert names[result["active"]] == active.name
    assert sorted(names[n] for n in result["standby"]) == sorted(s.name for s in stan_cluster.servers if s is not active)
    assert [s["state"] for s in result["servers"]].count("FT_ACTIVE") == 1
    assert [s["state"] for s in result["servers"]].count("FT_STANDBY") == 2
    by_state = {s["state"]: s for s in result["servers"]}
    assert by_state["FT_ACTIVE"]["server_id"] == active.serverz()["server_id"]
    assert all(s["error"] is None and s["version"] == "0.25.6" for s in result["servers"])
    # A standby has not loaded the store: it reports an empty cluster id and no counts.
    assert by_state["FT_ACTIVE"]["cluster_id"] == "test-cluster"
    assert {s["cluster_id"] for s in result["servers"] if s["state"] == "FT_STANDBY"} == {""}
    assert result["attempts"] == 1 and result["changed"] is False


def test_two_failovers_lose_no_message(stan_cluster, stanclient, ft_status, ft_results):
    cluster = stan_cluster
    assert_published(stanclient.pub(cluster.nats_urls(), "pub-1", n=BATCH, start=1), BATCH)
    failovers = []

    # Failover 1: SIGKILL the active server.
    first = cluster.active()
    first_id = first.serverz()["server_id"]
    t0 = first.kill()
    seconds, second, polls = wait_for_new_active(cluster, t0)
    failovers.append({"killed": first.name, "new_active": second.name, "seconds": round(seconds, 3), "polls": polls})
    assert second is not first
    play, result = ft_status([s.monitor_url for s in cluster.servers if s.running()], failed_over_from=first_id)
    assert play.rc == 0, result["msg"]
    assert len(result["standby"]) == 1

    assert_published(stanclient.pub(cluster.nats_urls(), "pub-2", n=BATCH, start=BATCH + 1), BATCH)
    after_first = stanclient.sub(cluster.nats_urls(), "sub-1", expect=2 * BATCH)
    assert_channel_complete(after_first, 2 * BATCH)

    # The killed server comes back (as Kubernetes would restart the pod) and must be a standby.
    t_restart = time.monotonic()
    first.start()
    cluster.wait_for(lambda st: st.get(first.name) == "FT_STANDBY", timeout=30, what=f"{first.name} FT_STANDBY")
    restart_standby = round(time.monotonic() - t_restart, 3)
    play, result = ft_status(cluster.monitor_urls())
    assert play.rc == 0, result["msg"]
    assert len(result["standby"]) == 2

    # Failover 2: SIGKILL the new active server.
    second_id = second.serverz()["server_id"]
    t0 = second.kill()
    seconds, third, polls = wait_for_new_active(cluster, t0)
    failovers.append({"killed": second.name, "new_active": third.name, "seconds": round(seconds, 3), "polls": polls})
    assert third is not second
    assert third.serverz()["server_id"] not in (first_id, second_id)

    assert_published(stanclient.pub(cluster.nats_urls(), "pub-3", n=BATCH, start=2 * BATCH + 1), BATCH)
    after_second = stanclient.sub(cluster.nats_urls(), "sub-2", expect=3 * BATCH)
    assert_channel_complete(after_second, 3 * BATCH)
    serverz = third.serverz()
    assert serverz["total_msgs"] == 3 * BATCH and serverz["channels"] == 1

    ft_results.record("sigkill_failovers", failovers)
    ft_results.record("killed_server_back_as_standby_seconds", restart_standby)
    ft_results.record("messages_published", 3 * BATCH)
    ft_results.record("messages_received_after_second_failover", after_second["count"])
    ft_results.record("messages_lost", 3 * BATCH - after_second["count"])


def test_hung_active_keeps_lock_and_blocks_failover_until_killed(stan_cluster, stanclient, ft_status, ft_results):
    cluster = stan_cluster
    assert_published(stanclient.pub(cluster.nats_urls(), "pub-1", n=100, start=1), 100)
    hung = cluster.active()
    standbys = [s for s in cluster.servers if s is not hung]
    for s in standbys:
        status = http_get(f"{s.monitor_url}/healthz")[0]
        assert status == 200

    t_stop = hung.pause()
    observe = 8.0  # > 6x the 1.25 s missed-heartbeat interval
    seen = set()
    while time.monotonic() - t_stop < observe:
        for s in standbys:
            seen.add(s.state(timeout=0.5))
        time.sleep(0.25)
    assert seen == {"FT_STANDBY"}, f"a standby changed state while the active server was stopped: {seen}"
    assert hung.state(timeout=1.0) == "UNREACHABLE"
    with pytest.raises(OSError):
        http_get(f"{hung.monitor_url}/healthz", timeout=1.0)
    assert all("unable to get store lock" in s.log_text() for s in standbys), cluster.logs()

    # Clients get no service: the stopped process still owns the channel subjects.
    during = stanclient.pub(cluster.nats_urls(exclude=(hung,)), "pub-hung", n=1, start=101, connect_wait="2s", timeout=3)
    assert during["rc"] != 0 and "connect request timeout" in " ".join(during["errors"]), during

    # stan_ft_status names the hung server instead of hanging itself.
    play, result = ft_status(cluster.monitor_urls(), request_timeout=1)
    assert play.rc != 0
    hung_name = hung.monitor_url.split("//")[1]
    assert f"{hung_name}: UNREACHABLE" in result["msg"] and "no server is FT_ACTIVE" in result["msg"], result["msg"]

    # SIGTERM (what a liveness failure sends first) cannot act on a stopped process.
    hung.signal(signal.SIGTERM)
    time.sleep(2.0)
    assert procs.pid_alive(hung.pid), "a stopped server died on SIGTERM"
    assert cluster.active() is None
    outage_before_kill = time.monotonic() - t_stop

    # SIGKILL (after terminationGracePeriodSeconds) releases the lock: failover as usual.
    t0 = hung.kill()
    seconds, new_active = wait_for_new_active(cluster, t0)[:2]
    assert new_active is not hung
    assert_published(stanclient.pub(cluster.nats_urls(), "pub-2", n=100, start=101), 100)
    assert_channel_complete(stanclient.sub(cluster.nats_urls(), "sub-1", expect=200), 200)
    ft_results.record(
        "sigstop_active",
        {
            "observed_seconds_without_failover": round(outage_before_kill, 1),
            "standby_states_seen": sorted(seen),
            "hung_monitor": "no answer (timeout) on /streaming/serverz and /healthz",
            "publish_during_hang": during["errors"],
            "sigterm_while_stopped": "ignored until SIGCONT or SIGKILL",
            "failover_after_sigkill_seconds": round(seconds, 3),
        },
    )


def test_short_hang_resumes_as_the_same_active_without_split_brain(stan_cluster, stanclient, ft_results):
    cluster = stan_cluster
    assert_published(stanclient.pub(cluster.nats_urls(), "pub-1", n=100, start=1), 100)
    active = cluster.active()
    server_id = active.serverz()["server_id"]
    active.pause()
    time.sleep(4.0)
    assert cluster.active() is None
    active.resume()
    states = cluster.wait_for(lambda st: st.get(active.name) == "FT_ACTIVE", timeout=10, what="resumed server active")
    time.sleep(2.0)  # several heartbeat rounds: a second active server would show up (or panic) now
    assert sorted(cluster.states().values()) == ["FT_ACTIVE", "FT_STANDBY", "FT_STANDBY"], cluster.states()
    assert active.running() and active.serverz()["server_id"] == server_id
    assert "claims to be active" not in "".join(s.log_text() for s in cluster.servers)
    assert_published(stanclient.pub(cluster.nats_urls(), "pub-2", n=100, start=101), 100)
    assert_channel_complete(stanclient.sub(cluster.nats_urls(), "sub-1", expect=200), 200)
    ft_results.record("sigstop_4s_then_sigcont", {"states_after_resume": states, "same_server_id": True})
