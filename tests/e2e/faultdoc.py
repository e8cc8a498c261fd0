"""The "faults on real pods" figures of docs/fault-tolerance.md, generated from the fault tests' results.

tests/e2e/test_faults.py writes what it measures to .build/pod-faults-results.json. This script
copies it into docs/fault-tolerance.json under the key `faults_on_pods` (with the commit it was
measured on; other keys of that file are left alone) and rewrites the document's generated block
`faults-on-pods` from that copy:

    .venv/bin/python tests/localenv/localenv.py run -- .venv/bin/python -m pytest tests/e2e/test_faults.py
    .venv/bin/python -m tests.e2e.faultdoc --update   # copy the results to docs/, regenerate the block
    .venv/bin/python -m tests.e2e.faultdoc --check    # exit 1 when the block and the results disagree

The block sits between `<!-- generated: faults-on-pods -->` and `<!-- end generated -->`; the text
between the markers is replaced whole, so edit `render()` below, never the block.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.lib import gendoc

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "fault-tolerance.md"
RESULTS = REPO / "docs" / "fault-tolerance.json"
MEASURED = REPO / ".build" / "pod-faults-results.json"
KEY = "faults_on_pods"
NAME = "faults-on-pods"
FAULTS = ("crash", "delete", "hang", "node-loss")
# What the figures depend on: the role and playbooks that run, the tests that measure, the client.
MEASURED_PATHS = ("roles/stan", "playbooks/aws.yml", "tests/e2e", "tests/localenv", "tests/stan/stanclient")

WHAT = {
    "crash": "SIGKILL of the active container's process, from its node",
    "delete": "`delete pod` of the active, the role's grace period",
    "hang": "SIGSTOP of the active container's process; the liveness probe restarts it",
    "node-loss": "`docker stop --time 0` of the worker running the active",
}


def provenance() -> dict:
    """The commit the tests run on, and the measured files changed since it (recorded when measuring)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=all", "--", *MEASURED_PATHS)
    # Tree hashes name the measured code even after the commit is rebased away.
    return {"commit": git("rev-parse", "HEAD"), "commit_date": git("show", "-s", "--format=%cI", "HEAD"),
            "trees": {path: git("rev-parse", f"HEAD:{path}") for path in MEASURED_PATHS},
            "uncommitted": sorted(line[3:] for line in dirty.splitlines() if line.strip())}


def seconds(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f} s"


def liveness_floor(d: dict) -> float:
    """A hang that begins just before a probe: (threshold - 1) periods, the last probe's timeout, the grace period."""
    return ((d["stan_liveness_failure_threshold"] - 1) * d["stan_liveness_period_seconds"] + d["stan_liveness_timeout_seconds"]
            + d["stan_termination_grace_period_seconds"])


def render(record: dict) -> str:
    r = record["figures"]
    f = r["faults"]
    rows = []
    for name in FAULTS:
        x = f[name]
        rows.append(
            f"| {name} | {WHAT[name]} | {x['old_active']} ({x['old_zone']}) | {x['new_active']} ({x['new_zone']}) | "
            f"**{seconds(x['takeover_seconds'])}** | {seconds(x['max_ack_gap_seconds'])} | {x['acked']} | "
            f"{x['failed']} | {x['received']} | **{x['lost']}** |")
    hang, node = f["hang"], f["node-loss"]
    d = r["role_defaults"]
    load = ", ".join(f"{x['load_average'][0]:.1f}" for x in (f[n] for n in FAULTS))
    commit = record["measured"]["commit"][:12]
    dirty = " (with uncommitted changes)" if record["measured"]["uncommitted"] else ""
    return (
        "| fault | injected | active before (zone) | active after (zone) | takeover | longest wait between two acks "
        "| acked | publishes not acked | read back | acked lost |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n\n"
        f"Takeover: from the injection to the first `/streaming/serverz` answer in which another pod reports "
        f"`FT_ACTIVE`, every pod polled every {r['poll_interval_seconds']:g} s through the API server's pod proxy. The "
        f"publisher published one message at a time, each waiting up to {r['ack_wait']} for its ack, with a "
        f"{r['publish_interval']} pause after each; \"longest wait between two acks\" is what it saw of the outage. Every "
        f"acknowledged message was read back once, in publish order, with consecutive sequence numbers; "
        f"{sum(f[n]['stored_without_ack'] for n in FAULTS)} messages whose publish was not acknowledged were stored anyway "
        f"(allowed: a publish whose ack is lost is not known to have failed).\n\n"
        f"- hang: the kubelet killed the stopped process (exit code {hang['kill_exit_code']}) "
        f"{seconds(hang['killed_by_kubelet_after_seconds'], 1)} after SIGSTOP (the container's `finishedAt`, to the "
        f"second), and a standby was `FT_ACTIVE` {seconds(hang['takeover_seconds'], 1)} after SIGSTOP. The bound derived "
        f"from the role's defaults "
        f"(liveness every {d['stan_liveness_period_seconds']} s x {d['stan_liveness_failure_threshold']}, "
        f"{d['stan_liveness_timeout_seconds']} s timeout, {d['stan_termination_grace_period_seconds']} s grace period, "
        f"+ 1.25 s for a standby to take the lock) is {seconds(hang['liveness_bound_seconds'])}; as the first failing "
        f"probe starts up to one period after the hang begins, the outage it allows lies between "
        f"{seconds(liveness_floor(d), 0)} and that bound.\n"
        f"- node-loss: the node was down for {seconds(node['node_down_seconds'], 1)} (until the test restarted it); "
        f"after `docker start` it was back, pod network restored, with its STAN pod ready again in "
        f"{seconds(node['node_back_and_pod_ready_seconds'], 1)}. **The storage stand-in releases a lost node's lock at "
        f"once**: the store is a host directory bind-mounted into every worker and the FT lock a local `fcntl` lock, "
        f"gone when the node's processes die. On EFS or Azure Files over NFS the lock of a node that vanished is "
        f"released only when the NFS server's lease for that client expires, which adds to this takeover time and "
        f"is not measured here.\n\n"
        f"`aws.yml` ran with {', '.join(f'`{k}: {json.dumps(v)}`' for k, v in sorted(r['playbook_vars'].items()))}. "
        f"Measured on {r['started'][:10]}, commit `{commit}`{dirty}, kind (Kubernetes {', '.join(r['kubernetes'])}) "
        f"with {r['cpus']} CPUs shared with other work (1-minute load average at each fault: {load}).\n"
    )


def render_doc(text: str, record: dict) -> str:
    if NAME not in gendoc.names(text, {NAME: None}):
        raise KeyError(f"{DOC.name} has no generated block {NAME!r}")
    return gendoc.rewrite(text, {NAME: lambda: render(record)})


def update() -> str | None:
    measured = json.loads(MEASURED.read_text(encoding="utf-8"))
    missing = [name for name in FAULTS if name not in measured.get("faults", {})]
    if missing:
        return f"{MEASURED} lacks the faults {', '.join(missing)}: run all of tests/e2e/test_faults.py first"
    gendoc.store(RESULTS, KEY, {"command": measured["command"], "measured": measured["measured"], "figures": measured})
    return None


def regenerate(text: str) -> tuple[str, list[str]]:
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    if KEY not in results:
        raise SystemExit(f"{gendoc.rel(RESULTS, REPO)} has no {KEY}: run the fault tests, then --update")
    return render_doc(text, results[KEY]), [NAME]


def main(argv: list[str] | None = None) -> int:
    return gendoc.cli(argv, __doc__, repo=REPO, doc=DOC, results=RESULTS, measured=MEASURED, module="tests.e2e.faultdoc",
                      update=update, regenerate=regenerate)


if __name__ == "__main__":
    sys.exit(main())
