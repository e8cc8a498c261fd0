"""playbooks/failover_drill.yml in its default Job mode, on the StatefulSet that aws.yml deploys.

Everything the drill does runs for real: its stan-pub/stan-sub Jobs run the natsio/nats-box image
(written locally, tests/localenv/images.py) in the kind cluster, connect to the embedded NATS
servers through the headless Service, the kubelet sends the active pod SIGTERM when the drill
deletes it, the StatefulSet controller replaces it, and the drill reads the subscriber Job's real
pod log. The test checks the drill's report against the cluster: exactly the old active's pod was
deleted and replaced, the replacement is a standby, the other two pods were not touched.
"""

from __future__ import annotations

import re

from tests.e2e import stanpods
from tests.lib.ansible_runner import run_playbook
from tests.lib.paths import REPO

BEFORE, AFTER = 60, 40


def test_failover_drill_job_mode_deletes_the_active_pod_and_reads_every_message_back(ft_stan, kube, localenv):
    namespace = ft_stan["namespace"]
    pods = sorted(stanpods.pod_facts(kube, namespace))
    old_active = stanpods.wait_ft_healthy(kube, namespace, pods)[0]
    before = stanpods.pod_facts(kube, namespace)

    extra = {"stan_namespace": namespace, "stan_name": "stan", "drill_messages_before": BEFORE,
             "drill_messages_after": AFTER, "drill_job_timeout": 240}
    drill = run_playbook(REPO / "playbooks" / "failover_drill.yml", extra_vars=extra, env=localenv["env"], timeout=900)
    assert drill.rc == 0, drill.stdout[-6000:] + drill.stderr[-2000:]

    report = drill.task("Report the drill")["msg"]
    print("\n" + "\n".join(report))
    match = re.fullmatch(r"failover: (\S+) deleted, (\S+) FT_ACTIVE after ([\d.]+)s", report[0])
    assert match, report
    assert match.group(1) == old_active
    assert match.group(2) != old_active and match.group(2) in pods
    assert report[2] == f"messages: {BEFORE} before + {AFTER} after = {BEFORE + AFTER} received, 0 lost"
    assert drill.task("Assert that every message arrived once, in order, with no gap")["msg"] == \
        f"{BEFORE + AFTER} messages in order, no gaps"

    # The clients ran in the cluster: the drill waited for each of its three Jobs (pub-1, pub-2,
    # sub) until it completed, and the subscriber's lines are its pod's log.
    waited = [t["result"]["resources"][0] for t in drill.tasks if t["name"] == "Wait until the drill's Job has completed or failed"]
    assert [job["metadata"]["name"].rsplit("-", 1)[-1] for job in waited] == ["1", "2", "sub"]
    for job in waited:
        assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "natsio/nats-box:0.13.8"
        assert job["status"].get("succeeded") == 1, job["status"]
    log = [t["result"] for t in drill.tasks if t["name"] == "Read the log of the drill Job's pod"][-1]["log_lines"]
    run_id = re.search(r'data:"(\w+)-1"', "\n".join(log)).group(1)
    assert [int(n) for n in re.findall(rf'data:"{run_id}-(\d+)"', "\n".join(log))] == list(range(1, BEFORE + AFTER + 1))

    # From the cluster: exactly the old active's pod was deleted and replaced; the replacement is a
    # standby and the new active is the one the drill named; the other pods kept their containers.
    active, states = stanpods.wait_ft_healthy(kube, namespace, pods)
    after = stanpods.pod_facts(kube, namespace)
    assert active == match.group(2)
    assert states[old_active] == "FT_STANDBY"
    assert after[old_active]["uid"] != before[old_active]["uid"]
    assert after[old_active]["container_id"] != before[old_active]["container_id"]
    for pod in pods:
        if pod != old_active:
            assert {k: after[pod][k] for k in ("uid", "container_id", "restarts")} == \
                {k: before[pod][k] for k in ("uid", "container_id", "restarts")}, pod


def test_a_failed_drill_job_fails_the_drill_at_once_with_its_log_and_deletes_no_pod(ft_stan, kube, localenv):
    """A publisher that cannot connect (a wrong cluster id) fails its Job; the drill stops there, at
    the Job's Failed condition rather than at its deadline, shows the pod's own log, and has
    not deleted the active pod."""
    namespace = ft_stan["namespace"]
    pods = sorted(stanpods.pod_facts(kube, namespace))
    stanpods.wait_ft_healthy(kube, namespace, pods)
    before = stanpods.pod_facts(kube, namespace)

    extra = {"stan_namespace": namespace, "stan_name": "stan", "stan_cluster_id": "no-such-cluster",
             "drill_messages_before": 3, "drill_connect_attempts": 2, "drill_job_timeout": 600}
    drill = run_playbook(REPO / "playbooks" / "failover_drill.yml", extra_vars=extra, env=localenv["env"], timeout=900)
    assert drill.rc != 0
    failed = [t for t in drill.tasks if t["result"].get("failed")]
    assert [t["name"] for t in failed] == ["Fail unless the drill's Job completed"], drill.stdout[-4000:]
    msg = failed[0]["result"]["msg"]
    print("\n" + msg)
    assert re.search(rf"Job {namespace}/drill-\w+-pub-1 failed \(BackoffLimitExceeded: ", msg), msg
    # the pod's own log: stan-pub's error for the wrong cluster id, after the configured attempts
    assert "message 1: connect failed, attempt 1 of 2" in msg, msg
    assert "connect request timeout" in msg, msg
    # the wait ended on the Job's Failed condition (backoff limit), not on its 600 s deadline
    job = [t for t in drill.tasks if t["name"] == "Wait until the drill's Job has completed or failed"][-1]["result"]
    conditions = {c["type"]: c for c in job["resources"][0]["status"]["conditions"]}
    assert conditions["Failed"]["status"] == "True" and conditions["Failed"]["reason"] == "BackoffLimitExceeded"
    assert "Delete the active pod" not in [t["name"] for t in drill.tasks]
    after = stanpods.pod_facts(kube, namespace)
    assert {p: after[p]["uid"] for p in pods} == {p: before[p]["uid"] for p in pods}
