"""Benchmark of the STAN -> JetStream migration: messages/s and wall time for the test data set.

    .venv/bin/python bench/migration.py             measure, write bench/results/migration.json,
                                                    regenerate the figures in the docs
    .venv/bin/python bench/migration.py --no-write  measure and print only
    .venv/bin/python bench/migration.py --render    regenerate the docs from the results file only

It starts a STAN FT group (three nats-streaming-server processes sharing one store) and a
JetStream cluster (three nats-server processes) on 127.0.0.1 under .build/bench-env/migration,
writes the data set of the migration tests (tests/lib/migration_env.py: 3 channels, 10 000
messages, two durables) with the stan.go test client, and runs playbooks/migrate_to_jetstream.yml
--runs times into an empty JetStream (the streams are deleted between runs), then once more as a
no-op rerun. Figures are printed, never asserted. The docs' figures (docs/migration.md and the
migration section of docs/benchmarks.md) are generated from the results file, never by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import BENCH_STATE_DIR, REPO, machine  # noqa: E402

RESULTS = REPO / "bench" / "results" / "migration.json"
DOCS = {
    REPO / "docs" / "migration.md": "migration-figures",
    REPO / "docs" / "benchmarks.md": "migration-benchmark",
}
TASK = "Migrate and verify the channels and durable subscriptions"
# The files whose code the figures measure: a change to any of them makes the figures stale.
MEASURED = [
    "plugins/module_utils/stan_migration.py",
    "plugins/module_utils/nats_io.py",
    "plugins/module_utils/stan_protocol.py",
    "plugins/modules/stan_to_jetstream.py",
    "playbooks/migrate_to_jetstream.yml",
    "roles/nats_jetstream/templates/nats.conf.j2",
    "tests/lib/migration_env.py",
]


def log(msg: str) -> None:
    print(f"[bench-migration {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def measured_digest() -> str:
    """sha256 over the measured files' git blob ids (what the figures were measured on)."""
    out = subprocess.run(["git", "ls-files", "-s", *MEASURED], cwd=REPO, capture_output=True, text=True, check=True)
    return hashlib.sha256(out.stdout.encode()).hexdigest()[:16]


async def _delete_streams(urls: str) -> None:
    import nats

    nc = await nats.connect(servers=urls.split(","))
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            await js.delete_stream(info.config.name)
    finally:
        await nc.close()


def nats_server_version() -> str:
    from tests.lib.stan import binary

    out = subprocess.run([str(binary("nats-server")), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().rsplit(" ", 1)[-1] or "?"


def measure(runs: int) -> dict:
    from tests.lib.migration_env import DATA_SET, fill, start_env
    from tests.lib.stanclient import StanClient, build_stanclient

    workdir = BENCH_STATE_DIR / "migration"
    shutil.rmtree(workdir, ignore_errors=True)
    load_start = os.getloadavg()[0]
    log("starting a STAN FT group and a JetStream cluster (3 + 3 processes on 127.0.0.1)")
    env = start_env(workdir, StanClient(build_stanclient()))
    try:
        log(f"writing the data set: {sum(c.msgs for c in DATA_SET)} messages in {len(DATA_SET)} channels")
        fill(env, DATA_SET)
        copies = []
        for i in range(runs):
            asyncio.run(_delete_streams(env.js.nats_urls()))
            t0 = time.monotonic()
            result = env.migrate()
            wall = time.monotonic() - t0
            if result.rc != 0:
                raise RuntimeError(f"migration run {i + 1} failed:\n{result.stdout[-3000:]}")
            task = result.task(TASK)
            copies.append({"wall_seconds": round(wall, 2), "copy_seconds": task["copy_seconds"],
                           "msgs_copied": task["msgs_copied"], "msgs_per_second": task["msgs_per_second"],
                           "verified": all(v["ok"] for v in task["verification"])})
            log(f"run {i + 1}: {task['msgs_copied']} messages, copy {task['copy_seconds']} s "
                f"({task['msgs_per_second']} msg/s), playbook {wall:.1f} s")
        t0 = time.monotonic()
        rerun = env.migrate()
        rerun_wall = time.monotonic() - t0
        log(f"no-op rerun: {rerun_wall:.1f} s, changed {rerun.changed}")
    finally:
        env.stan.stop()
        env.js.stop()
    facts = machine.describe(workdir.parent)
    versions = machine.tool_versions()
    return {
        "measured": {"date": facts["date"], "files": MEASURED, "digest": measured_digest(),
                     "load_average_1min": [round(load_start, 2), round(os.getloadavg()[0], 2)]},
        "machine": {k: facts[k] for k in ("CPU", "memory", "kernel", "Python")},
        "versions": {"nats-server": nats_server_version(),
                     "nats-streaming-server": versions.get("STAN_VERSION", "?"),
                     "nats-py": machine.package_version("nats-py")},
        "data_set": [{"channel": c.name, "messages": c.msgs,
                      "payload_bytes": str(c.size) if c.size else f"{len('msg-1')}-{len(f'msg-{c.msgs}')}",
                      "durable": c.durable[0] if c.durable else None,
                      "queue_group": (c.durable[1] or None) if c.durable else None} for c in DATA_SET],
        "setup": "3 nats-streaming-server (FT, one store dir) + 3 nats-server (JetStream, R3 streams) on one host",
        "runs": copies,
        "median": {
            "msgs_per_second": round(statistics.median(r["msgs_per_second"] for r in copies), 1),
            "copy_seconds": round(statistics.median(r["copy_seconds"] for r in copies), 2),
            "wall_seconds": round(statistics.median(r["wall_seconds"] for r in copies), 2),
        },
        "rerun": {"wall_seconds": round(rerun_wall, 2), "changed": rerun.changed, "rc": rerun.rc},
    }


def table(results: dict) -> str:
    m, runs, rerun = results["median"], results["runs"], results["rerun"]
    total = runs[0]["msgs_copied"] if runs else 0
    rates = ", ".join(f"{r['msgs_per_second']:,.0f}" for r in runs)
    lines = [
        "| Figure | Value | How measured |",
        "|---|---|---|",
        f"| migration throughput | {m['msgs_per_second']:,.0f} msg/s (median of {len(runs)} runs: {rates}) | "
        f"messages stored in JetStream / seconds from the first stream creation to the last consumer, reported by "
        f"the module (`msgs_per_second`) |",
        f"| copy time for the data set | {m['copy_seconds']} s for {total:,} messages | the module's `copy_seconds` |",
        f"| playbook wall time, first run | {m['wall_seconds']} s | wall clock around `ansible-playbook "
        f"playbooks/migrate_to_jetstream.yml`: pre-flight, plan, copy, verification |",
        f"| no-op rerun | {rerun['wall_seconds']} s, changed {rerun['changed']} | the same playbook again: plans, "
        f"copies nothing, verifies |",
        f"| every run verified | {all(r['verified'] for r in runs)} | counts, first/last sequence, payload samples, "
        f"consumer positions |",
    ]
    return "\n".join(lines)


def section(results: dict) -> str:
    ds = ", ".join(f"`{c['channel']}` {c['messages']:,} x {c['payload_bytes']} B" for c in results["data_set"])
    meas = results["measured"]
    return "\n".join([
        f"Generated by `.venv/bin/python bench/migration.py` from `bench/results/migration.json` (measured "
        f"{meas['date']} on {results['machine']['CPU']}, {results['machine']['memory']}; code digest "
        f"`{meas['digest']}`; 1-minute load average {meas['load_average_1min'][0]} at the start, "
        f"{meas['load_average_1min'][1]} at the end, on {results['machine']['CPU'].split('(')[-1].split(',')[0]}); "
        f"do not edit by hand.",
        "",
        f"Data set: {ds}; a durable part-way through `orders` and a durable queue group part-way through "
        f"`events`. Setup: {results['setup']}; nats-server {results['versions']['nats-server']}, "
        f"nats-streaming-server {results['versions']['nats-streaming-server']}, nats-py {results['versions']['nats-py']}.",
        "",
        table(results),
    ])


def render(results: dict) -> list[Path]:
    written = []
    for doc, marker in DOCS.items():
        text = doc.read_text(encoding="utf-8")
        begin, end = f"<!-- BEGIN {marker} -->", f"<!-- END {marker} -->"
        if begin not in text or end not in text:
            raise SystemExit(f"{doc.relative_to(REPO)} has no {begin} ... {end} block")
        head, rest = text.split(begin, 1)
        _old, tail = rest.split(end, 1)
        doc.write_text(f"{head}{begin}\n{section(results)}\n{end}{tail}", encoding="utf-8")
        written.append(doc)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="migrations into an empty JetStream (default 3)")
    parser.add_argument("--no-write", action="store_true", help="print only; write neither results nor docs")
    parser.add_argument("--render", action="store_true", help="only regenerate the docs from the results file")
    args = parser.parse_args(argv)
    if args.render:
        results = json.loads(RESULTS.read_text(encoding="utf-8"))
        if results["measured"]["digest"] != measured_digest():
            log("note: the measured code changed since these figures were taken; rerun the bench")
    else:
        results = measure(args.runs)
        print(table(results))
        if args.no_write:
            return 0
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {RESULTS.relative_to(REPO)}")
    for doc in render(results):
        log(f"regenerated the figures in {doc.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
