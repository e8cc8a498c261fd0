"""Benchmarks of nats_streaming.ft on the local environment: print one table, write docs/benchmarks.md.

    .venv/bin/python bench/run.py               run everything (about 5 minutes), write the doc
    .venv/bin/python bench/run.py --no-write    print the table only
    .venv/bin/python bench/run.py --only stan   only figures 6-7 (implies --no-write)

Figures: 1-2 playbooks/aws.yml first converge and no-op rerun; 3 AWS API calls and 4 Kubernetes
API requests of the no-op rerun; 5 the guide's manifests applied as a baseline, ratios from the
same run; 6 STAN failover time with the role's rendered stan.conf; 7 STAN publish throughput for
three file_options sets. Figures are printed, never asserted: the exit status is 0 whenever the
benchmark ran, whether or not a target was met. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Importing bench first chooses the bench state directory, before tests.lib.paths reads it.
from bench import BENCH_STATE_DIR, REPO, converge, machine, migration, report, stan_figures  # noqa: E402
from bench.report import Row, counts, rate, verdict  # noqa: E402
from tests.lib.paths import STATE_DIR  # noqa: E402

DOC = REPO / "docs" / "benchmarks.md"
COMMAND = ".venv/bin/python bench/run.py"
NOOP_RATIO_TARGET = 1 / 3
FAILOVER_MEDIAN_TARGET = 3.0


def converge_rows(c: dict) -> list[Row]:
    first, noop = c["first"], c["noop"]
    bf, bn = c["baseline_first"], c["baseline_noop"]
    ratio = noop.seconds / first.seconds
    rows = [
        Row("1. aws.yml first converge, wall time",
            f"{first.seconds:.1f} s (changed {first.changed}; {first.aws_total} AWS calls, {first.kube_total} Kubernetes requests)",
            how="wall clock around ansible-playbook playbooks/aws.yml on a fresh local environment (note 1)"),
        Row("2. aws.yml no-op rerun",
            f"{noop.seconds:.1f} s, changed {noop.changed}, ratio {ratio:.2f} of (1)",
            f"<= {NOOP_RATIO_TARGET:.2f} of (1), changed 0", verdict(ratio <= NOOP_RATIO_TARGET and noop.changed == 0),
            "the same command again right after (1); ratio (2)/(1) from this run (note 2)"),
    ]
    non_reads = noop.aws_non_reads
    rows.append(Row(
        "3. AWS API calls, no-op rerun",
        f"{noop.aws_total}: {counts(noop.aws_calls)}; other than Describe*/List*: {len(non_reads)}"
        + (f" ({', '.join(non_reads)})" if non_reads else ""),
        "only Describe*/List*, 0 writes", verdict(noop.aws_total > 0 and not non_reads) if noop.aws_total else "no data",
        "moto's request recorder around the run, requests named service:Operation from botocore's models (note 3)"))
    kube_writes = len(noop.kube_writes)
    modified = c["noop_modified"]
    rows.append(Row(
        "4. Kubernetes API requests, no-op rerun",
        f"{noop.kube_total}: {counts(noop.kube_verbs)}; write calls {kube_writes}, objects modified {len(modified)}"
        + (" (the write calls changed nothing)" if kube_writes and not modified else ""),
        "0 write calls", verdict(kube_writes == 0),
        "kube-apiserver audit log: the run's time window and client user agent; modified = object read before and after differs (note 4)"))
    rows += [
        Row("5a. Baseline first apply (kubernetes.core.k8s)",
            f"{bf.seconds:.1f} s (changed {bf.changed}); {bf.kube_total} requests: {counts(bf.kube_verbs)}",
            how="the guide's manifest files, kubernetes.core.k8s apply: true, src: each file (note 5)"),
        Row("5b. Baseline no-op (kubernetes.core.k8s)",
            f"{bn.seconds:.1f} s, changed {bn.changed}, ratio {bn.seconds / bf.seconds:.2f} of (5a); {bn.kube_total} requests: "
            f"{counts(bn.kube_verbs)}; objects modified {len(c['baseline_noop_modified'])}",
            how="the same baseline playbook again right after (5a), counted like (4)"),
        Row("5c. Ours / baseline (kubernetes.core.k8s)",
            f"wall time: first {first.seconds / bf.seconds:.1f}x, no-op {noop.seconds / bn.seconds:.1f}x; Kubernetes requests: "
            f"first {first.kube_total / max(bf.kube_total, 1):.2f}x, no-op {noop.kube_total / max(bn.kube_total, 1):.2f}x",
            how="(1)/(5a), (2)/(5b), (4)/(5b) from this run; ours also does the AWS side and waits for the StatefulSet (note 5)"),
    ]
    k = c.get("kubectl")
    if k:
        kf, kn = k["first"], k["noop"]
        configured = [line for _s, line in kn.slowest]
        rows += [
            Row("5d. Baseline with kubectl apply -f",
                f"first {kf.seconds:.1f} s ({kf.kube_total} requests); no-op {kn.seconds:.1f} s ({kn.kube_total} requests: "
                f"{counts(kn.kube_verbs)}), {len(configured)} object(s) reported changed"
                + (f": {'; '.join(configured)}" if configured else "") + f", objects modified {len(k['noop_modified'])}",
                how=f"kubectl {k['version']} apply -f on both guide files, wall clock, requests counted by kubectl's user agent (note 5)"),
            Row("5e. Ours / kubectl",
                f"wall time: first {first.seconds / kf.seconds:.1f}x, no-op {noop.seconds / kn.seconds:.1f}x; Kubernetes requests: "
                f"first {first.kube_total / max(kf.kube_total, 1):.2f}x, no-op {noop.kube_total / max(kn.kube_total, 1):.2f}x",
                how="(1)/(5d first), (2)/(5d no-op), (4)/(5d no-op) from this run"),
        ]
    else:
        rows.append(Row("5d. Baseline with kubectl apply -f", "not run: no kubectl on PATH", how="(note 5)"))
    return rows


def stan_rows(f: dict, t: list[dict], args: argparse.Namespace) -> list[Row]:
    ok = f["median"] <= FAILOVER_MEDIAN_TARGET and f["lost"] == 0
    rows = [Row(
        "6. STAN failover (role's stan.conf)",
        f"median {f['median']:.2f} s, max {f['max']:.2f} s over {len(f['rounds'])} kills of the active server; "
        f"messages lost {f['lost']} of {f['acked']} acked (read back {f['received']}, duplicates {f['duplicates']})",
        f"median <= {FAILOVER_MEDIAN_TARGET:.0f} s, 0 lost", verdict(ok),
        "3 servers, one store dir; SIGKILL -> first serverz FT_ACTIVE, polled every 50 ms; killed server restarted as standby; "
        "all messages read from the start after the last kill (note 6)")]
    for i, cfg in enumerate(t):
        letter = "abc"[i] if i < 3 else str(i)
        rows.append(Row(
            f"7{letter}. Publish throughput, {cfg['label']}",
            f"{rate(cfg['pipelined']['median'])} msgs/s pipelined ({args.inflight} in flight); "
            f"{rate(cfg['one_at_a_time']['median'])} msgs/s one at a time; {args.size} B messages",
            how=f"file_options {{{cfg['rendered_file_options']}}}. Durability: {cfg['durability']}. "
                f"Median of {args.repeats} runs, one publisher on the active server, local disk (note 7)"))
    return rows


NOTES = """\
1. **First converge.** `ansible-playbook playbooks/aws.yml -e cluster_name=bench -e aws_region=us-east-2
   -e k8s_namespace=bench-stan -e verify_ft=false`, run through `tests/lib/ansible_runner.py` (json
   callback), timed with a monotonic clock around the whole process (Python start-up, inventory,
   every task). The environment is fresh: `tests/localenv/localenv.py up` in its own state
   directory (`.build/bench-env`), moto_server seeded by `tests/lib/aws_seed.py` with what eksctl
   leaves behind (VPC, 6 subnets in 3 AZs, node security groups, the EKS cluster), a
   `CSIDriver efs.csi.aws.com` object, kube-apiserver + etcd + controller-manager + scheduler of
   the pinned Kubernetes version and three kwok nodes in three zones. `verify_ft=false` because kwok
   pods run no containers (figure 6 measures the real servers). The run includes two waits on the
   control plane: the claim bound to its static volume (kube-controller-manager's volume binder)
   and the StatefulSet ready (kwok marks the pods Ready), so it varies more from run to run than
   the no-op rerun does (by 20-30 s between runs on a 2-CPU machine); the slowest tasks are
   listed below.
2. **No-op rerun.** The same command again right after (1), against the same state: changed is the
   play recap's changed count; the ratio divides the two wall times of this run. Most of a no-op
   run is per-task start-up (each module is a new Python process that imports boto3 or the
   kubernetes client and, for Kubernetes, discovers the API); the slowest tasks are listed below.
3. **AWS calls.** moto_server was started with `MOTO_RECORDER_FILEPATH`; the recorder is reset and
   started just before the run and stopped and downloaded just after, so it holds exactly the
   requests the run sent. Each request is named `service:Operation` from botocore's own service
   models (signing service in the SigV4 header; `Action=` for EC2; method + URI template for EFS
   and EKS), by `OperationNamer` in `tests/aws_noop_calls.py`. Only `Describe*`/`List*` count as
   reads.
4. **Kubernetes requests.** The kube-apiserver writes an audit event (level Metadata) for every
   request. Counted: events received between the run's start and end whose user agent is the
   run's client (`OpenAPI-Generator/...` = the kubernetes Python client that kubernetes.core
   uses; `kubectl/...` for kubectl), which leaves out the controller-manager, scheduler and kwok.
   Requests with `dryRun=` are counted apart. Write calls are create/update/patch/delete. Every
   object a no-op run sent a write call for was read before and after the run and compared
   without `status`, `resourceVersion` and the status subresource's managedFields (what
   controllers keep moving): equal means the write call changed nothing.
5. **Baseline.** The seed guide's manifests, extracted verbatim into `tests/roles/seed/`
   (`efs_provisioner.manifests`: ServiceAccount, RBAC, ConfigMap, Deployment, StorageClass, claim;
   `stan.manifests`: Service, ConfigMap, StatefulSet), applied unchanged into namespace
   `bench-baseline` by a generated two-task playbook (create the namespace; `kubernetes.core.k8s`
   with `apply: true` and `src:` each file), first run and no-op rerun, counted like (4); and, when
   kubectl is on PATH, with `kubectl apply -f` into `bench-baseline-kubectl` (the guide's
   cluster-scoped objects are deleted first so its first run creates them too). The baseline does
   only the Kubernetes part: the guide's AWS steps (filesystem, mount targets, security group) are
   manual console/CLI work, and it does not wait for anything. Its claim never binds here (kwok has
   no efs-provisioner), so its pods stay Pending; nothing waits on them. Ratios are ours divided by
   the baseline's, from the same run.
6. **Failover.** `tests/lib/stan.py` renders `stan.conf` with Ansible from the `stan` role's
   template and defaults (file_options below), placed on 127.0.0.1 with free ports and one shared
   store directory, and starts three real `nats-streaming-server` processes in one FT group.
   {kills} times: publish {batch} messages through all three servers' URLs and wait for every ack;
   SIGKILL the active server; poll every running server's `/streaming/serverz` every 50 ms until
   one answers `FT_ACTIVE` (time from the kill, resolution about 50 ms); restart the killed server
   and wait until it reports `FT_STANDBY` and every server's `/routez` shows routes to both others
   (a restarted server answers serverz about a second before its routes are up, and a client that
   connects to it in that second gets a STAN connect timeout). Then read the channel from its
   first message: lost = acked messages not read back. The figure is the STAN mechanism: the
   active server sends a heartbeat every 1 s (+-10%), a standby tries the store lock 1.25 s
   (+-10%) after the last heartbeat it saw, so a takeover comes 0 to about 1.4 s after a kill
   depending on where the kill falls in the heartbeat cycle (the earlier of the two standbys
   wins), plus the store recovery. On Kubernetes a pod kill adds nothing to it (the standbys
   already run), but EFS adds lock and recovery latency.
7. **Throughput.** For each file_options set, a fresh three-server FT group from the role's
   template (only `stan_file_options` overridden) with the store on the local disk named above
   (on EFS/NFS every fsync is a round trip to the file server, so the sync_on_flush cost is much
   higher there). One publisher (the Go client, stan.go v0.10.4) connected straight to the active
   server publishes fixed-size messages with `PublishAsync`: *pipelined* = up to N unacked in
   flight, *one at a time* = 1 in flight, i.e. each publish waits for its ack (a synchronous
   publish). msgs/s = acked messages / time from the first publish to the last ack; a fresh
   channel per run; the value is the median of the runs (all runs are listed below). The server
   acks a batch of messages after writing (and with `sync_on_flush`, fsyncing) it, so one at a time
   shows the per-message fsync cost that pipelining amortises.
8. **Reading the figures.** moto answers at once and creates filesystems and mount targets
   already available; on AWS a new filesystem and its mount targets take minutes to become
   available, so the first converge is longer there and the no-op ratio here is a worst case.
   The control plane, the servers, the client and Ansible share the machine above ({cpus} CPUs):
   pipelined publishing is largely CPU-bound, which narrows the differences between the
   file_options sets (compare with the run-to-run spread listed below); the one at a time figures
   show the durability cost. Failover and throughput ran on a local disk, not on EFS.
"""


def details(c: dict | None, f: dict | None, t: list[dict] | None, args: argparse.Namespace) -> str:
    out = ["## Details of this run", ""]
    if c:
        first, noop = c["first"], c["noop"]
        out += [
            "AWS calls by operation:",
            "",
            f"- first converge ({first.aws_total}): {counts(first.aws_calls)}",
            f"- no-op rerun ({noop.aws_total}): {counts(noop.aws_calls)}",
            "",
            "Kubernetes requests by verb:",
            "",
        ]
        runs = [("aws.yml first converge", first), ("aws.yml no-op rerun", noop),
                ("baseline (kubernetes.core.k8s) first", c["baseline_first"]), ("baseline (kubernetes.core.k8s) no-op", c["baseline_noop"])]
        if c.get("kubectl"):
            runs += [("baseline (kubectl) first", c["kubectl"]["first"]), ("baseline (kubectl) no-op", c["kubectl"]["noop"])]
        out += [f"- {name} ({run.kube_total}): {counts(run.kube_verbs)}" for name, run in runs]
        patched = c["noop_patched"]
        out += [
            "",
            f"Objects the no-op rerun sent write calls for: {patched}; changed by them: {modified_list(c['noop_modified'])}. "
            f"Baseline no-op (kubernetes.core.k8s): {c['baseline_noop_patched']} written to, changed: "
            f"{modified_list(c['baseline_noop_modified'])}"
            + (f"; baseline no-op (kubectl): {c['kubectl']['noop_patched']} written to, changed: "
               f"{modified_list(c['kubectl']['noop_modified'])}." if c.get("kubectl") else "."),
            "",
            "Slowest tasks (seconds):",
            "",
            "- first converge: " + "; ".join(f"{s:.1f} {n}" for s, n in first.slowest),
            "- no-op rerun: " + "; ".join(f"{s:.1f} {n}" for s, n in noop.slowest),
            "",
        ]
    if f:
        out += [
            f"Failover rounds (role file_options {f['file_options']}):",
            "",
            *[f"- kill {i}: {r['killed']} killed, {r['new_active']} FT_ACTIVE after {r['seconds']:.3f} s ({r['polls']} polls); "
              f"{r['killed']} restarted, FT_STANDBY with all routes up after {r['rejoined']:.2f} s"
              for i, r in enumerate(f["rounds"], start=1)],
            f"- read back {f['received']} of {f['acked']} acked, in order: {f['in_order']}, subscriber errors: {f['sub_errors'] or 'none'}",
            "",
        ]
    if t:
        out += [f"Throughput runs ({args.size} B messages; pipelined {args.msgs} messages with up to {args.inflight} in flight, "
                f"one at a time {args.sync_msgs} messages), msgs/s:", ""]
        for cfg in t:
            out.append(f"- {cfg['label']} (`{cfg['rendered_file_options']}`): pipelined "
                       f"{', '.join(rate(v) for v in cfg['pipelined']['runs'])}; one at a time "
                       f"{', '.join(rate(v) for v in cfg['one_at_a_time']['runs'])}")
        out.append("")
    return "\n".join(out)


def modified_list(paths: list[str]) -> str:
    return f"{len(paths)} ({', '.join(paths)})" if paths else "0"


def write_doc(rows: list[Row], facts: dict[str, str], notes: str, extra: str, elapsed: float) -> None:
    text = [
        "# Benchmarks",
        "",
        f"Generated by `{COMMAND}` (`bench/README.md`); this file is overwritten by every full run, do",
        "not edit it by hand. Performance is measured by this script and printed, never asserted by",
        "timed tests. Every figure below comes from the one run described here; ratios divide figures",
        "of that same run.",
        "",
        "## Machine and run",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in facts.items()],
        f"| bench wall time | {elapsed / 60:.1f} min |",
        "",
        "## Results",
        "",
        report.markdown_table(rows),
        "",
        "## How each figure was measured",
        "",
        notes,
        extra,
        # Written by bench/migration.py into its results file; carried over, never measured here.
        "",
        "## STAN -> JetStream migration",
        "",
        "<!-- BEGIN migration-benchmark -->",
        "<!-- END migration-benchmark -->",
    ]
    DOC.write_text("\n".join(text).rstrip() + "\n", encoding="utf-8")
    if migration.RESULTS.exists():
        migration.render(json.loads(migration.RESULTS.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true", help=f"print the table only, do not write {DOC.relative_to(REPO)}")
    parser.add_argument("--only", choices=["converge", "stan"], help="run only figures 1-5 or 6-7 (implies --no-write)")
    parser.add_argument("--kills", type=int, default=5, help="failovers to time (default 5)")
    parser.add_argument("--size", type=int, default=1024, help="message size in bytes for throughput (default 1024)")
    parser.add_argument("--msgs", type=int, default=50000, help="messages per pipelined throughput run (default 50000)")
    parser.add_argument("--inflight", type=int, default=1024, help="unacked messages in flight when pipelined (default 1024)")
    parser.add_argument("--sync-msgs", type=int, default=5000, help="messages per one-at-a-time run (default 5000)")
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs per configuration (default 3)")
    args = parser.parse_args(argv)
    if STATE_DIR != BENCH_STATE_DIR:
        raise SystemExit(f"tests.lib.paths was imported before bench chose its state directory ({STATE_DIR})")

    started = time.monotonic()
    workdir = BENCH_STATE_DIR / "work"
    stan_dir = BENCH_STATE_DIR / "stan"
    facts = machine.describe(BENCH_STATE_DIR)
    rows: list[Row] = []
    c = f = t = None
    if args.only in (None, "converge"):
        c = converge.measure(workdir)
        rows += converge_rows(c)
    if args.only in (None, "stan"):
        converge.log(f"6. STAN failover: {args.kills} kills of the active server")
        f = stan_figures.failover(stan_dir / "failover", kills=args.kills)
        converge.log("7. STAN publish throughput")
        t = stan_figures.throughput(stan_dir / "throughput", size=args.size, msgs=args.msgs, inflight=args.inflight,
                                    sync_msgs=args.sync_msgs, repeats=args.repeats)
        rows += stan_rows(f, t, args)
    elapsed = time.monotonic() - started

    print(report.text_table(rows))
    print(f"{facts['date']}; {facts['CPU']}; {facts['memory']}; {facts['kernel']}; STAN store on {facts['STAN store filesystem']}; "
          f"bench took {elapsed / 60:.1f} min")
    if args.no_write or args.only:
        converge.log(f"not writing {DOC.relative_to(REPO)} (--no-write or --only)")
    else:
        notes = NOTES.format(kills=args.kills, batch=stan_figures.FAILOVER_BATCH, cpus=len(os.sched_getaffinity(0)))
        write_doc(rows, facts, notes, details(c, f, t, args), elapsed)
        converge.log(f"wrote {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
