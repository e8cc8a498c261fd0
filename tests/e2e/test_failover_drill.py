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

    # The clients ran in the cluster: each Job completed, and the subscriber's lines are its pod's log.
    for task in ("Publish the messages before the failover (in-cluster Job)",
                 "Publish the messages after the failover (in-cluster Job)",
                 "Read the channel from its first message (in-cluster Job)"):
        job = drill.task(task)["result"]
        assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "natsio/nats-box:0.13.8"
        assert job["status"].get("succeeded") == 1, (task, job["status"])
    log = drill.task("Fetch what the subscriber received (in-cluster Job)")["log_lines"]
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
