"""Benchmarks of nats_streaming.ft on the local environment: one table, a results file, the document.

    .venv/bin/python bench/run.py               measure everything, write docs/benchmarks.json and
                                                docs/benchmarks.md (generated from the .json)
    .venv/bin/python bench/run.py --no-write    print the table only
    .venv/bin/python bench/run.py --only stan   only the STAN figures (implies --no-write)
    .venv/bin/python bench/run.py --render      rewrite docs/benchmarks.md from docs/benchmarks.json
    .venv/bin/python bench/run.py --check       exit 1 when the measured code changed since the run

Figures: 1-2 playbooks/aws.yml and azure.yml first converge, no-op rerun and its write calls;
7 kubectl and kubernetes.core.k8s applying the same objects; 8 STAN failover; 9 STAN publish
throughput. Figures are printed, never asserted: the exit status of a measuring run is 0
whenever the benchmark ran, whether or not a target was met. Progress goes to stderr.
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
from bench import BENCH_STATE_DIR, REPO, machine, provenance, report  # noqa: E402
from tests.lib.paths import STATE_DIR  # noqa: E402

DOC = REPO / "docs" / "benchmarks.md"
RESULTS = REPO / report.RESULTS_NAME


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def measure(args: argparse.Namespace) -> dict:
    from bench import converge, stan_figures

    started = time.monotonic()
    load_at_start = os.getloadavg()[0]
    results: dict = {
        "command": report.COMMAND + (f" --only {args.only}" if args.only else ""),
        "measured": provenance.snapshot(REPO),
        "machine": list(machine.describe(BENCH_STATE_DIR).items()),  # pairs: the order survives the file
        "options": {k: getattr(args, k) for k in ("kills", "size", "msgs", "inflight", "sync_msgs", "repeats")},
        "failover_batch": stan_figures.FAILOVER_BATCH,
    }
    if args.only in (None, "converge"):
        results["converge"] = converge.measure(BENCH_STATE_DIR / "work", args.use_env)
    if args.only in (None, "stan"):
        log(f"8. STAN failover: {args.kills} kills of the active server")
        results["failover"] = stan_figures.failover(BENCH_STATE_DIR / "stan" / "failover", kills=args.kills)
        log("9. STAN publish throughput")
        results["throughput"] = stan_figures.throughput(BENCH_STATE_DIR / "stan" / "throughput", size=args.size, msgs=args.msgs,
                                                        inflight=args.inflight, sync_msgs=args.sync_msgs, repeats=args.repeats)
    results["pods_failover"] = pods_failover()
    results["elapsed_seconds"] = round(time.monotonic() - started, 1)
    results["load_average"] = [round(load_at_start, 2), round(os.getloadavg()[0], 2)]
    return results


def pods_failover() -> dict | None:
    """Figure 10 beside figure 8: the crash and pod-delete takeovers on the StatefulSet's own pods,
    as tests/e2e/test_faults.py measured them (docs/fault-tolerance.json, key faults_on_pods), with
    the commit they were measured on. Copied, not measured here: the fault tests need the stanclient
    pods and a fault-injection harness that the bench does not carry."""
    path = REPO / "docs" / "fault-tolerance.json"
    if not path.exists():
        return None
    pods = json.loads(path.read_text(encoding="utf-8")).get("faults_on_pods")
    if not pods:
        return None
    faults = pods["figures"]["faults"]
    keep = ("takeover_seconds", "acked", "lost", "max_ack_gap_seconds", "old_active", "new_active")
    return {"source": "docs/fault-tolerance.json (faults_on_pods)", "command": pods["command"],
            "commit": pods["measured"]["commit"],
            "faults": {name: {k: faults[name][k] for k in keep} for name in ("crash", "delete") if name in faults}}


def render(results: dict) -> str:
    return report.document(results, results["failover_batch"])


def check() -> int:
    """Say whether docs/benchmarks.md still describes the code: 0 yes, 1 measured code changed since."""
    if not RESULTS.exists():
        print(f"{RESULTS.relative_to(REPO)} does not exist: no benchmark has been recorded")
        return 1
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    if DOC.read_text(encoding="utf-8") != render(results):
        print(f"{DOC.relative_to(REPO)} is not what {RESULTS.relative_to(REPO)} renders to: it was edited by hand "
              f"(run bench/run.py --render)")
        return 1
    changed = provenance.changed_since(REPO, results["measured"])
    commit = results["measured"]["commit"][:12]
    if changed:
        print(f"measured code changed since {commit}: {'; '.join(changed)} -- rerun {report.COMMAND}")
        return 1
    print(f"{DOC.relative_to(REPO)} describes the current code (measured at {commit}, nothing measured changed since)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true", help="print the table only, write no file")
    parser.add_argument("--only", choices=["converge", "stan"], help="run only the converge or the STAN figures (implies --no-write)")
    parser.add_argument("--render", action="store_true", help=f"rewrite {DOC.relative_to(REPO)} from {RESULTS.relative_to(REPO)}")
    parser.add_argument("--check", action="store_true", help="exit 1 when the measured code changed since the recorded run")
    parser.add_argument("--use-env", type=Path, metavar="STATE_DIR",
                        help="measure on the running local environment of this state directory (not started or stopped)")
    parser.add_argument("--kills", type=int, default=5, help="failovers to time (default 5)")
    parser.add_argument("--size", type=int, default=1024, help="message size in bytes for throughput (default 1024)")
    parser.add_argument("--msgs", type=int, default=50000, help="messages per pipelined throughput run (default 50000)")
    parser.add_argument("--inflight", type=int, default=1024, help="unacked messages in flight when pipelined (default 1024)")
    parser.add_argument("--sync-msgs", type=int, default=5000, help="messages per one-at-a-time run (default 5000)")
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs per configuration (default 3)")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    if args.render:
        DOC.write_text(render(json.loads(RESULTS.read_text(encoding="utf-8"))), encoding="utf-8")
        log(f"wrote {DOC.relative_to(REPO)} from {RESULTS.relative_to(REPO)}")
        return 0
    if STATE_DIR != BENCH_STATE_DIR:
        raise SystemExit(f"tests.lib.paths was imported before bench chose its state directory ({STATE_DIR})")

    results = measure(args)
    print(report.text_table(report.rows_of(results)))
    m = dict(results["machine"])
    print(f"{m['date']}; {m['CPU']}; {m['memory']}; {m['kernel']}; bench took {results['elapsed_seconds'] / 60:.1f} min")
    if args.no_write or args.only:
        log("not writing the results file or the document (--no-write or --only)")
        return 0
    RESULTS.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    DOC.write_text(render(results), encoding="utf-8")
    log(f"wrote {RESULTS.relative_to(REPO)} and {DOC.relative_to(REPO)} (generated from it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
