"""playbooks/aws.yml with its FT check, then playbooks/failover_drill.yml, against real STAN servers.

The StatefulSet that aws.yml deploys lives in the real kube-apiserver; its kwok pods run
nothing, so tests/lib/podprocs.py plays kubelet for them: each pod gets a real
nats-streaming-server process (the role's stan.conf template, 127.0.0.1 ports), killed when
the pod is deleted and started again for its replacement. stan_ft_status reads the servers
through the real API server's pod proxy (cluster egress -> tests/localenv/podnet.py).

The drill runs with drill_client=controller: the same publish/subscribe scripts as its
in-cluster Jobs, run here with the cached stan-pub/stan-sub against the servers' client ports
(kwok cannot run the nats-box Jobs). What is not exercised here: the Job/k8s_log plumbing.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid

import pytest
from kubernetes import client

from tests.lib.ansible_runner import run_playbook
from tests.lib.paths import BIN_DIR, REPO
from tests.lib.podprocs import StatefulSetProcesses
from tests.lib.stan import StanCluster, binary

from .conftest import REGION

PLAYBOOKS = REPO / "playbooks"
NAMESPACE = f"e2e-drill-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def stan_pods(eks, localenv, kube, tmp_path_factory):
    """aws.yml deployed into NAMESPACE with real processes behind its three pods."""
    for name in ("nats-streaming-server", "stan-pub", "stan-sub"):
        binary(name)
    cluster = StanCluster(tmp_path_factory.mktemp("drill"), size=3, prefix="stan")
    harness = StatefulSetProcesses(kube, NAMESPACE, "stan", cluster, routes_path=localenv["podnet_routes"])
    harness.start()
    extra = {"cluster_name": eks["cluster_name"], "aws_region": REGION, "k8s_namespace": NAMESPACE}
    try:
        play = run_playbook(PLAYBOOKS / "aws.yml", extra_vars={**extra, "verify_ft": True, "verify_timeout": 120},
                            env=localenv["env"])
        assert play.rc == 0, play.stdout[-4000:] + play.stderr[-2000:] + f"\nharness: {harness.events} {harness.errors}"
        yield harness, play
    finally:
        harness.stop()
        down = run_playbook(PLAYBOOKS / "aws_teardown.yml", extra_vars={**extra, "delete_data": True}, env=localenv["env"])
        if down.rc != 0:
            print(f"aws_teardown.yml failed (rc={down.rc}): {down.stdout[-3000:]}")
        try:
            client.CoreV1Api(kube).delete_namespace(NAMESPACE, propagation_policy="Background")
        except client.ApiException as exc:
            if exc.status != 404:
                raise


def test_aws_playbook_verifies_ft_through_the_real_pod_proxy(stan_pods):
    harness, play = stan_pods
    status = play.task("Verify that exactly one server is FT active")
    active = [s for s in harness.cluster.servers if s.state() == "FT_ACTIVE"]
    assert len(active) == 1
    assert status["active"] == active[0].name
    assert sorted(status["standby"]) == sorted(s.name for s in harness.cluster.servers if s is not active[0])
    assert status["servers"][0]["endpoint"] == f"/api/v1/namespaces/{NAMESPACE}/pods/stan-0:8222/proxy/streaming/serverz"
    assert harness.errors == []


def test_failover_drill_kills_the_active_pod_and_loses_nothing(stan_pods, localenv):
    harness, _play = stan_pods
    before = {s.name: s.state() for s in harness.cluster.servers}
    old_active = next(name for name, state in before.items() if state == "FT_ACTIVE")
    env = {**localenv["env"], "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"}
    extra = {
        "stan_namespace": NAMESPACE,
        "stan_name": "stan",
        "drill_client": "controller",
        "drill_nats_url": ",".join(s.nats_url for s in harness.cluster.servers),
        "drill_messages_before": 60,
        "drill_messages_after": 40,
        "drill_job_timeout": 120,
    }
    started = time.monotonic()
    drill = run_playbook(PLAYBOOKS / "failover_drill.yml", extra_vars=extra, env=env, timeout=600)
    assert drill.rc == 0, drill.stdout[-6000:] + drill.stderr[-2000:] + f"\nharness: {harness.events} {harness.errors}"

    report = drill.task("Report the drill")["msg"]
    print("\n" + "\n".join(report))
    match = re.match(r"failover: (\S+) deleted, (\S+) FT_ACTIVE after ([\d.]+)s", report[0])
    assert match, report
    assert match.group(1) == old_active
    assert match.group(2) != old_active
    assert report[2] == "messages: 60 before + 40 after = 100 received, 0 lost"
    assert drill.task("Assert that every message arrived once, in order, with no gap")["msg"] == "100 messages in order, no gaps"

    # The kubelet stand-in killed exactly the old active's process when its pod was deleted, and
    # gave the StatefulSet's replacement pod a new process, which is now a standby.
    kills = [e for e in harness.kills() if e.at >= started]
    assert [(e.pod, e.what) for e in kills] == [(old_active, "killed")]
    restarts = [e for e in harness.events if e.what == "started" and e.at > kills[0].at]
    assert [e.pod for e in restarts] == [old_active]
    after = {s.name: s.state() for s in harness.cluster.servers}
    assert after[match.group(2)] == "FT_ACTIVE"
    assert after[old_active] == "FT_STANDBY"
    assert harness.errors == []


def test_failover_drill_job_mode_runs_until_the_logs_kwok_cannot_give(stan_pods, localenv, kube):
    """drill_client=job (the default) against the real API server: the Job manifests are accepted, the
    Job controller completes them (kwok marks Job pods Succeeded without running them), the failover
    happens, and the drill stops where it asks a kubelet for the subscriber's log: kwok has none."""
    harness, _play = stan_pods
    old_active = next(s.name for s in harness.cluster.servers if s.state() == "FT_ACTIVE")
    started = time.monotonic()
    extra = {"stan_namespace": NAMESPACE, "stan_name": "stan", "drill_messages_before": 3, "drill_messages_after": 2,
             "drill_job_timeout": 120}
    drill = run_playbook(PLAYBOOKS / "failover_drill.yml", extra_vars=extra, env=localenv["env"], timeout=600)
    assert drill.rc != 0
    failed = [t for t in drill.tasks if t["result"].get("failed")]
    assert [t["name"] for t in failed] == ["Fetch what the subscriber received (in-cluster Job)"], drill.stdout[-4000:]
    assert "no logs found" in json.dumps(failed[0]["result"]), failed[0]["result"]
    done = [t["name"] for t in drill.tasks if not t["result"].get("skipped")]
    for name in ("Publish the messages before the failover (in-cluster Job)", "Wait for a standby to become FT_ACTIVE",
                 "Publish the messages after the failover (in-cluster Job)",
                 "Read the channel from its first message (in-cluster Job)"):
        assert name in done
    jobs = client.BatchV1Api(kube).list_namespaced_job(NAMESPACE, label_selector="app.kubernetes.io/name=stan-failover-drill").items
    assert len(jobs) == 3 and all((j.status.succeeded or 0) == 1 for j in jobs)
    assert {j.spec.template.spec.containers[0].image for j in jobs} == {"natsio/nats-box:0.13.8"}
    kills = [e for e in harness.kills() if e.at >= started]
    assert [(e.pod, e.what) for e in kills] == [(old_active, "killed")]
    assert drill.task("Wait for a standby to become FT_ACTIVE")["active"] != old_active
