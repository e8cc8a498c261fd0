"""Faults on the StatefulSet that aws.yml deploys, on real pods: each measured, none loses an acked message.

Every fault hits the FT_ACTIVE server of the three the role runs (one per kind worker, one per
zone, the role's defaults, only the metrics sidecar off):

- crash: SIGKILL of the active container's process, sent from its node;
- delete: `delete pod` of the active, with the role's grace period (the kubelet sends SIGTERM);
- hang: SIGSTOP of the active container's process: only the role's liveness probe ends it;
- node loss: `docker stop --time 0` of the worker that runs the active (the node container is
  killed at once, with no graceful shutdown of its kubelet or containers), then `docker start`;
  the test waits until the node, its pod network and its STAN pod are back.

Around each fault, the tests' own STAN client (tests/stan/stanclient) runs in pods on the control
plane node, where no fault reaches it: a publisher that keeps publishing msg-1, msg-2, ... on one
connection through the fault and logs every publish the server acknowledged, then a subscriber
that reads the channel from its first message. Every acked message must be there, once, in order.

Takeover time: from the fault's injection to the first answer of /streaming/serverz in which a
different pod reports FT_ACTIVE, polling every pod through the API server's pod proxy every
POLL_INTERVAL seconds. Nothing is asserted on a time: the figures go to RESULTS (and from there,
with `python -m tests.e2e.faultdoc --update`, to docs/fault-tolerance.md).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import time
import uuid

import pytest
import yaml
from kubernetes import client

from tests.e2e import faultdoc, stanpods
from tests.lib.paths import BUILD, REPO
from tests.localenv import engine as engines
from tests.localenv import images, kindcluster

RESULTS = BUILD / "pod-faults-results.json"
POLL_INTERVAL = 0.1  # seconds between two serverz reads of one pod
PUBLISH_INTERVAL = "10ms"  # pause between two publishes
ACK_WAIT = "2s"  # how long one publish waits for its ack
WARM_UP_ACKS = 100  # acked before the fault, and again after the takeover, before the publisher stops
CONTROL_PORT = 8080
# The standby's retry interval after missed heartbeats (nats-streaming-server server/ft.go).
LOCK_RETRY_SECONDS = 1.25
DEFAULTS = yaml.safe_load((REPO / "roles" / "stan" / "defaults" / "main.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def faults(ft_stan, kube, localenv):
    """The deployment, the cluster's engine and the results of this module's faults, written to
    RESULTS after every fault (so a failing fault keeps the figures of the ones before it)."""
    namespace = ft_stan["namespace"]
    pods = sorted(stanpods.pod_facts(kube, namespace))
    assert len(pods) == 3, pods
    stanpods.wait_ft_healthy(kube, namespace, pods)
    results = {
        "command": ".venv/bin/python tests/localenv/localenv.py run -- .venv/bin/python -m pytest tests/e2e/test_faults.py",
        "playbook_vars": ft_stan["vars"], "poll_interval_seconds": POLL_INTERVAL, "publish_interval": PUBLISH_INTERVAL, "ack_wait": ACK_WAIT,
        "role_defaults": {k: DEFAULTS[k] for k in (
            "stan_liveness_initial_delay_seconds", "stan_liveness_period_seconds", "stan_liveness_timeout_seconds",
            "stan_liveness_failure_threshold", "stan_termination_grace_period_seconds")},
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "measured": faultdoc.provenance(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "kubernetes": sorted({n.status.node_info.kubelet_version for n in client.CoreV1Api(kube).list_node().items}),
        "faults": {},
    }
    ctx = {"namespace": namespace, "pods": pods, "engine": engines.Engine.from_json(localenv["engine"]),
           "cluster": localenv["cluster"], "results": results, "image": images.stanclient_ref()}
    yield ctx


def record(ctx: dict, fault: str, figures: dict) -> None:
    ctx["results"]["faults"][fault] = figures
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(ctx["results"], indent=1, sort_keys=True) + "\n", encoding="utf-8")


def nats_urls(namespace: str, pods: list[str]) -> str:
    return ",".join(f"nats://{p}.stan.{namespace}.svc:4222" for p in pods)


def start_publisher(kube, ctx: dict, fault: str, channel: str) -> stanpods.ClientPod:
    pub = stanpods.ClientPod(kube, ctx["namespace"], f"pub-{fault}-{uuid.uuid4().hex[:4]}", ctx["image"], [
        "stream", "-s", nats_urls(ctx["namespace"], ctx["pods"]), "-c", DEFAULTS["stan_cluster_id"],
        "-id", f"pub-{fault}", "-subject", channel, "-interval", PUBLISH_INTERVAL, "-ack-wait", ACK_WAIT,
        "-listen", f":{CONTROL_PORT}", "-max-duration", "5m"], port=CONTROL_PORT).create()
    pub.wait_get("status", lambda s: s["acked"] >= WARM_UP_ACKS, timeout=120)
    return pub


def read_channel(kube, ctx: dict, fault: str, channel: str, active: str) -> tuple[dict, list[dict]]:
    """Read the channel from its start in a subscriber pod: (channelz of the active, messages)."""
    chan = stanpods.channelz(kube, ctx["namespace"], active, channel)
    sub = stanpods.ClientPod(kube, ctx["namespace"], f"sub-{fault}-{uuid.uuid4().hex[:4]}", ctx["image"], [
        "sub", "-s", nats_urls(ctx["namespace"], ctx["pods"]), "-c", DEFAULTS["stan_cluster_id"],
        "-id", f"sub-{fault}", "-subject", channel, "-expect", str(chan["last_seq"]), "-lines", "-timeout", "60s"]).create()
    try:
        sub.wait_phase(("Succeeded", "Failed"), timeout=120)
        lines = sub.log_lines()
    finally:
        sub.delete()
    summary = lines[-1]
    assert summary["errors"] == [], summary
    return chan, lines[:-1]


def check_channel(acked: list[int], received: list[dict], chan: dict) -> dict:
    """The correctness of one fault: every acked message there once, in order, with consecutive
    sequences; the counts for the results."""
    numbers = [int(m["data"].removeprefix("msg-")) for m in received]
    seqs = [m["seq"] for m in received]
    assert len(received) == chan["last_seq"] - chan["first_seq"] + 1 == chan["msgs"], (len(received), chan)
    assert seqs == list(range(chan["first_seq"], chan["last_seq"] + 1)), "sequence gaps or repeats"
    assert len(set(numbers)) == len(numbers), "a message was stored twice"
    assert numbers == sorted(numbers), "messages out of publish order"
    assert not [m for m in received if m["redelivered"]]
    lost = sorted(set(acked) - set(numbers))
    assert lost == [], f"{len(lost)} acked messages lost: {lost[:20]}"
    return {"received": len(received), "lost": len(lost), "stored_without_ack": len(set(numbers) - set(acked))}


def stop_publisher(pub: stanpods.ClientPod, after: int) -> tuple[dict, list[dict]]:
    """Wait for `after` + WARM_UP_ACKS acks, stop the publisher; (its summary, the acks its log names,
    each {"acked": number, "t": unix ms})."""
    pub.wait_get("status", lambda s: s["acked"] >= after + WARM_UP_ACKS, timeout=120)
    summary = pub.get("stop", timeout=30)
    pub.wait_phase(("Succeeded", "Failed"), timeout=60)
    lines = pub.log_lines()
    pub.delete()
    assert lines[-1] == {"summary": summary}, lines[-3:]
    acks = [e for e in lines if "acked" in e]
    numbers = [e["acked"] for e in acks]
    assert len(acks) == summary["acked"] and numbers == sorted(numbers)
    return summary, acks


def inject_and_measure(kube, ctx: dict, fault: str, inject, after_takeover=None) -> dict:
    """Publisher on, fault injected on the active, takeover measured, publisher off, the FT group
    whole again, channel read back and checked. `inject(active, facts)` returns (t0, details);
    `after_takeover(active, facts, t0)` runs once a different pod is active (e.g. restarts a node)
    and returns more figures."""
    namespace, pods = ctx["namespace"], ctx["pods"]
    active = stanpods.wait_ft_healthy(kube, namespace, pods)[0]
    before = stanpods.pod_facts(kube, namespace)
    zones = stanpods.node_zones(kube)
    channel = f"fault-{fault}-{uuid.uuid4().hex[:6]}"
    pub = start_publisher(kube, ctx, fault, channel)
    try:
        with stanpods.Poller(kube, namespace, pods, interval=POLL_INTERVAL) as poller:
            t0, details = inject(active, before)
            new = poller.wait_active(other_than=active, after=t0, timeout=180)
            takeover = new.t - t0
            acked_at_takeover = pub.get("status")["acked"]
            reads = len([s for s in poller.samples if t0 <= s.t <= new.t])
        extra = after_takeover(active, before, t0) if after_takeover else {}
        summary, acks = stop_publisher(pub, acked_at_takeover)
    finally:
        pub.delete()
    t_whole = time.time()
    new_active, states = stanpods.wait_ft_healthy(kube, namespace, pods)
    back = time.time() - t0
    after = stanpods.pod_facts(kube, namespace)
    chan, received = read_channel(kube, ctx, fault, channel, new_active)
    counts = check_channel([a["acked"] for a in acks], received, chan)
    # Only the old active's pod was touched; the others kept their pod and their container.
    for pod in pods:
        if pod != active:
            assert (after[pod]["uid"], after[pod]["container_id"]) == (before[pod]["uid"], before[pod]["container_id"]), pod
    assert states[active] == "FT_STANDBY"
    figures = {
        "old_active": active, "old_node": before[active]["node"], "old_zone": zones.get(before[active]["node"]),
        "new_active": new.pod, "new_node": before[new.pod]["node"], "new_zone": zones.get(before[new.pod]["node"]),
        "takeover_seconds": round(takeover, 3), "serverz_reads_until_takeover": reads,
        "old_active_back_as_standby_seconds": round(back, 1),
        "waited_for_the_group_seconds": round(time.time() - t_whole, 1),
        "old_active_pod_replaced": after[active]["uid"] != before[active]["uid"],
        "old_active_restarts": [before[active]["restarts"], after[active]["restarts"]],
        "acked_before_fault": len([a for a in acks if a["t"] < t0 * 1000]),
        "acked_after_takeover": len([a for a in acks if a["t"] > new.t * 1000]),
        "published": summary["published"], "acked": summary["acked"], "failed": summary["failed"],
        "client_connects": summary["connects"], "max_ack_gap_seconds": round(summary["max_ack_gap_ms"] / 1000, 3),
        **counts, **details, **extra,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"\n[pod-faults] {fault}: " + json.dumps(figures, sort_keys=True))
    return figures


def test_crash_of_the_active_container_fails_over_and_loses_no_acked_message(faults, kube):
    ctx = faults

    def inject(active, facts):
        sent = stanpods.signal_container(ctx["engine"], facts[active]["node"], ctx["namespace"], active, "KILL")
        return sent["t"], {"injected": f"kill -KILL {sent['pid']} (the stan container's process) on its node"}

    figures = inject_and_measure(kube, ctx, "crash", inject)
    assert figures["new_active"] != figures["old_active"] and not figures["old_active_pod_replaced"]
    assert figures["old_active_restarts"][1] == figures["old_active_restarts"][0] + 1
    record(ctx, "crash", figures)


def test_graceful_delete_of_the_active_pod_fails_over_and_loses_no_acked_message(faults, kube):
    ctx = faults
    core = client.CoreV1Api(kube)

    def inject(active, _facts):
        grace = core.read_namespaced_pod(active, ctx["namespace"]).spec.termination_grace_period_seconds
        t0 = time.time()
        core.delete_namespaced_pod(active, ctx["namespace"])
        return t0, {"injected": f"delete pod {active} (grace period {grace} s, the role's)", "grace_seconds": grace}

    figures = inject_and_measure(kube, ctx, "delete", inject)
    assert figures["new_active"] != figures["old_active"] and figures["old_active_pod_replaced"]
    assert figures["grace_seconds"] == DEFAULTS["stan_termination_grace_period_seconds"]
    record(ctx, "delete", figures)


def liveness_bound(d: dict) -> float:
    """The outage a hung active causes with these settings, as docs/fault-tolerance.md derives it."""
    return (d["stan_liveness_period_seconds"] * d["stan_liveness_failure_threshold"] + d["stan_liveness_timeout_seconds"]
            + d["stan_termination_grace_period_seconds"] + LOCK_RETRY_SECONDS)


def test_hung_active_is_restarted_by_the_liveness_probe_and_a_standby_takes_over(faults, kube):
    ctx = faults

    def inject(active, facts):
        sent = stanpods.signal_container(ctx["engine"], facts[active]["node"], ctx["namespace"], active, "STOP")
        return sent["t"], {"injected": f"kill -STOP {sent['pid']} (the stan container's process) on its node"}

    def killed(active, facts, t0):
        # The pod's status names the kill once the kubelet has restarted the container.
        deadline = time.monotonic() + 60
        while (now := stanpods.pod_facts(kube, ctx["namespace"])[active])["restarts"] == facts[active]["restarts"]:
            assert time.monotonic() < deadline, f"{active}'s container was not restarted: {now}"
            time.sleep(0.5)
        term = now["last_terminated"] or {}
        finished = term.get("finished_at")
        return {"liveness_bound_seconds": round(liveness_bound(DEFAULTS), 2),
                "killed_by_kubelet_after_seconds": round(finished.timestamp() - t0, 1) if finished else None,
                "kill_exit_code": term.get("exit_code"), "kill_reason": term.get("reason")}

    figures = inject_and_measure(kube, ctx, "hang", inject, after_takeover=killed)
    assert figures["new_active"] != figures["old_active"] and not figures["old_active_pod_replaced"]
    # The kubelet, not the test, ended the stopped process: it restarted the container after SIGKILL.
    assert figures["old_active_restarts"][1] == figures["old_active_restarts"][0] + 1
    assert figures["kill_exit_code"] == 137, figures
    record(ctx, "hang", figures)


def wait_stan_pod_back(kube, namespace: str, pod: str, old_container: str, timeout: float = 300) -> None:
    """The pod on the restarted node runs a new, ready container and the StatefulSet is 3/3 ready."""
    apps = client.AppsV1Api(kube)
    deadline = time.monotonic() + timeout
    while True:
        facts = stanpods.pod_facts(kube, namespace).get(pod) or {}
        sts = apps.read_namespaced_stateful_set("stan", namespace).status
        if facts.get("ready") and facts.get("container_id") != old_container and (sts.ready_replicas or 0) == 3:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{pod} not back after {timeout:.0f}s: {facts}, StatefulSet {sts.ready_replicas or 0}/3 ready")
        time.sleep(1)


def test_loss_of_the_active_node_fails_over_and_the_node_rejoins(faults, kube):
    ctx = faults
    engine = ctx["engine"]
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    lost = {}

    def inject(active, facts):
        lost.update(node=facts[active]["node"], pod=active, container=facts[active]["container_id"])
        t0 = time.time()
        subprocess.run(engine.docker("stop", "--time", "0", lost["node"]), check=True, capture_output=True, timeout=60)
        return t0, {"injected": f"docker stop --time 0 {lost['node']} (the worker running the active)",
                    "node": lost["node"]}

    def restart_node() -> float:
        lost["started"] = time.time()
        subprocess.run(engine.docker("start", lost["node"]), check=True, capture_output=True, timeout=120)
        return lost["started"]

    def rejoin(_active, _facts, t0):
        since = restart_node()
        # Its kubelet reporting again and its pod network synced since the restart, the cluster ready.
        kindcluster.wait_node_back(core, apps, lost["node"], since)
        wait_stan_pod_back(kube, ctx["namespace"], lost["pod"], lost["container"])
        return {"node_down_seconds": round(since - t0, 1), "node_back_and_pod_ready_seconds": round(time.time() - since, 1)}

    try:
        figures = inject_and_measure(kube, ctx, "node-loss", inject, after_takeover=rejoin)
    finally:
        if lost.get("node") and not lost.get("started"):  # whatever failed, leave the cluster whole for later tests
            kindcluster.wait_node_back(core, apps, lost["node"], restart_node())
    assert figures["new_active"] != figures["old_active"] and figures["new_node"] != figures["node"]
    assert figures["old_active_restarts"][1] == figures["old_active_restarts"][0] + 1
    record(ctx, "node-loss", figures)
