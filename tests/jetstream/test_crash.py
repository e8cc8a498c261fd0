"""SIGKILL the migration play half-way, rerun it: no gap, no duplicate (real servers)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.lib import procs
from tests.lib.ansible_runner import ansible_env
from tests.lib.migration_env import PLAYBOOK, Channel, fill

from . import jsclient

TASK = "Migrate and verify the channels and durable subscriptions"
BIG = [Channel("ledger", 8000, size=64, durable=("audit", "", 1, 3000)), Channel("ledger.archive", 2000)]


def start_play(env, log: Path) -> subprocess.Popen:
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local", str(PLAYBOOK),
           "-e", json.dumps(env.vars(publish_window=64))]
    return procs.start(cmd, log, env=ansible_env())


def test_sigkill_half_way_then_rerun_gives_no_gap_and_no_duplicate(fresh_env, tmp_path):
    env = fresh_env
    fill(env, BIG)
    urls = env.js.nats_urls()
    play = start_play(env, tmp_path / "killed-play.log")
    stored = 0
    deadline = time.monotonic() + 120
    try:
        # Kill as soon as part of the first channel is in JetStream and before all of it is.
        while time.monotonic() < deadline and play.poll() is None:
            info = jsclient.stream_info(urls, "ledger")
            stored = info.state.messages if info else 0
            if stored >= 200:
                break
            time.sleep(0.02)
    finally:
        victims = procs.kill_tree(play.pid)
        play.wait(timeout=10)
    assert not any(procs.pid_alive(v) for v in victims), "a process of the killed play survived"
    after_kill = jsclient.stream_info(urls, "ledger").state
    assert 200 <= after_kill.messages < 8000, (after_kill, (tmp_path / "killed-play.log").read_text()[-3000:])
    # Nothing is written after the kill: the play is really dead.
    time.sleep(1.0)
    assert jsclient.stream_info(urls, "ledger").state.messages == after_kill.messages
    assert (after_kill.first_seq, after_kill.last_seq) == (1, after_kill.messages)

    result = env.migrate()
    assert result.rc == 0, result.stdout[-4000:]
    task = result.task(TASK)
    plan = {p["channel"]: p for p in task["plan"]}
    assert plan["ledger"]["action"] == "resume"
    assert plan["ledger"]["copy_from"] == after_kill.messages + 1
    assert task["copied"]["ledger"] == 8000 - after_kill.messages
    assert all(v["ok"] for v in task["verification"]), task["verification"]

    # Every message once, in order, at its STAN sequence.
    msgs = jsclient.all_msgs(urls, "ledger", "ledger", 8000)
    assert [seq for seq, _h in msgs] == list(range(1, 8001))
    assert [int(h["Stan-Sequence"]) for _s, h in msgs] == list(range(1, 8001))
    assert len({h["Nats-Msg-Id"] for _s, h in msgs}) == 8000
    assert jsclient.stream_info(urls, "ledger").state.messages == 8000
    assert jsclient.consumer_info(urls, "ledger", "sub-audit_audit").num_pending == 5000

    rerun = env.migrate()
    assert rerun.rc == 0 and rerun.changed == 0, rerun.stdout[-3000:]


def test_stan_failover_during_the_migration_then_rerun_gives_no_gap_and_no_duplicate(fresh_env, tmp_path):
    """The active STAN server is SIGKILLed while the channel is being copied. Whether the run then
    fails (its connection was to the killed server) or carries on through the standby that took
    over, after the killed server is back as a standby (as Kubernetes restarts the pod) a rerun
    leaves every message exactly once."""
    env = fresh_env
    fill(env, BIG)
    urls = env.js.nats_urls()
    play = start_play(env, tmp_path / "play.log")
    killed = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and play.poll() is None:
            info = jsclient.stream_info(urls, "ledger")
            if info and info.state.messages >= 200:
                killed = env.stan.active()
                killed.kill()
                break
            time.sleep(0.02)
        play.wait(timeout=180)
    finally:
        if play.poll() is None:
            procs.kill_tree(play.pid)
    assert killed is not None, "the migration finished before the kill"
    print(f"first run: rc={play.returncode} after {killed.name} was killed")
    env.stan.wait_for(lambda st: list(st.values()).count("FT_ACTIVE") == 1, timeout=30, what="a new FT_ACTIVE")
    killed.start()
    env.stan.wait_for(lambda st: sorted(st.values()) == ["FT_ACTIVE", "FT_STANDBY", "FT_STANDBY"], timeout=30,
                      what="the killed server back as a standby")

    result = env.migrate()
    assert result.rc == 0, result.stdout[-4000:]
    task = result.task(TASK)
    assert all(v["ok"] for v in task["verification"]), task["verification"]
    msgs = jsclient.all_msgs(urls, "ledger", "ledger", 8000)
    assert [int(h["Stan-Sequence"]) for _seq, h in msgs] == list(range(1, 8001))
    assert [seq for seq, _h in msgs] == list(range(1, 8001))
    assert jsclient.stream_info(urls, "ledger").state.messages == 8000
    assert jsclient.stream_info(urls, "ledger_archive").state.messages == 2000
