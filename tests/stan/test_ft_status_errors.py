"""stan_ft_status against real servers that are NOT healthy: no active server, two active servers.

Plain processes because they need what pods do not give a test here: the store lock held by the
test process itself (the "all standby" failure mode), and servers reachable by URL, which the
module's monitor_urls mode reads directly (pod addresses are not routed to the test; its
Kubernetes mode runs against real pods in tests/e2e/test_ft_status_k8s.py).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest

from tests.lib.stan import StanCluster

pytestmark = pytest.mark.stan

LOCK_FILE = ".rootdir.lck"


def netloc(server) -> str:
    return server.monitor_url.split("//")[1]


@pytest.fixture
def locked_cluster(stan_binaries, tmp_path):
    """Three servers whose store lock is held by this test process: nobody can become active."""
    cluster = StanCluster(tmp_path / "locked", size=3)
    cluster.store_dir.mkdir(parents=True)
    fd = os.open(cluster.store_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fcntl(F_SETLK, F_WRLCK), as the server takes it
    holder = {"fd": fd}

    def release():
        if holder["fd"] is not None:
            os.close(holder["fd"])  # closing the descriptor drops the fcntl lock
            holder["fd"] = None

    try:
        cluster.start(wait_active=False)
        yield cluster, release
    finally:
        release()
        cluster.stop()


def test_all_standby_when_lock_is_held_elsewhere_fails_with_no_active(locked_cluster, ft_status, ft_results):
    cluster, _release = locked_cluster
    cluster.wait_for(lambda st: set(st.values()) == {"FT_STANDBY"}, timeout=20, what="all FT_STANDBY")
    time.sleep(3.0)  # two missed-heartbeat intervals: every server has tried the lock and failed
    assert set(cluster.states().values()) == {"FT_STANDBY"}, cluster.states()
    assert all("unable to get store lock" in s.log_text() for s in cluster.servers), cluster.logs()

    play, result = ft_status(cluster.monitor_urls())
    assert play.rc != 0
    assert result["failed"] is True
    assert result["msg"].startswith("no server is FT_ACTIVE (")
    for server in cluster.servers:
        assert f"{netloc(server)}: FT_STANDBY" in result["msg"], result["msg"]
    assert result["active"] is None
    assert len(result["standby"]) == 3 and len(result["servers"]) == 3

    play, result = ft_status(cluster.monitor_urls(), wait=True, wait_timeout=3, wait_sleep=0.5)
    assert play.rc != 0
    assert "no server is FT_ACTIVE" in result["msg"]
    assert "still not healthy after waiting 3s" in result["msg"], result["msg"]
    assert result["attempts"] >= 5 and result["elapsed"] >= 3.0
    ft_results.record("all_standby_lock_held_message", result["msg"])


def test_wait_succeeds_once_the_foreign_lock_is_released(locked_cluster, ft_status, ft_results):
    cluster, release = locked_cluster
    cluster.wait_for(lambda st: set(st.values()) == {"FT_STANDBY"}, timeout=20, what="all FT_STANDBY")
    # ansible-playbook needs a few seconds before the module polls; release the lock after that.
    timer = threading.Timer(5.0, release)
    timer.start()
    try:
        play, result = ft_status(cluster.monitor_urls(), wait=True, wait_timeout=60, wait_sleep=0.25)
    finally:
        timer.cancel()
    assert play.rc == 0, result["msg"]
    assert result["active"] is not None and len(result["standby"]) == 2
    # More than one read: the first ones saw no active server, the module waited and read again.
    assert result["attempts"] > 1 and result["elapsed"] >= 0.25, result
    ft_results.record("wait_until_lock_released", {"attempts": result["attempts"], "elapsed": result["elapsed"]})


def test_two_ft_groups_behind_one_monitor_list_fail_with_two_active(stan_binaries, tmp_path, ft_status, ft_results):
    group_a = StanCluster(tmp_path / "a", size=2, ft_group="group-a", prefix="a")
    group_b = StanCluster(tmp_path / "b", size=1, ft_group="group-b", prefix="b")
    try:
        group_a.start()
        group_b.start()
        active_a, active_b = group_a.active(), group_b.active()
        assert active_a is not None and active_b is not None
        urls = group_a.monitor_urls() + group_b.monitor_urls()
        play, result = ft_status(urls)
        assert play.rc != 0
        msg = result["msg"]
        assert msg.startswith("2 servers claim to be FT_ACTIVE: "), msg
        for server in (active_a, active_b):
            assert f"{netloc(server)} (server_id {server.serverz()['server_id']})" in msg, msg
        assert result["active"] is None
        assert [s["state"] for s in result["servers"]].count("FT_ACTIVE") == 2
        ft_results.record("two_active_message", msg)

        # Each group on its own is healthy.
        play, result = ft_status(group_a.monitor_urls())
        assert play.rc == 0 and result["active"] == netloc(active_a)
    finally:
        group_a.stop()
        group_b.stop()


def test_bad_monitor_url_is_rejected_naming_the_option(ft_status):
    play, result = ft_status(["stan-0:8222"])
    assert play.rc != 0
    assert result["msg"].startswith("monitor_urls: 'stan-0:8222' is not an http(s) URL"), result["msg"]


def test_server_that_is_not_listening_is_reported_unreachable(ft_status):
    from tests.lib.procs import free_port

    url = f"http://127.0.0.1:{free_port()}"
    play, result = ft_status([url])
    assert play.rc != 0
    assert result["servers"][0]["state"] == "UNREACHABLE"
    assert "Connection refused" in result["servers"][0]["error"], result["servers"][0]
    assert "did not answer" in result["msg"] and "no server is FT_ACTIVE" in result["msg"]
