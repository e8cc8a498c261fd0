"""The measured figures of docs/fault-tolerance.md, generated from the FT tests' results file.

The fault-tolerance tests on plain processes (tests/stan) write what they measure to
.build/stan-ft-results.json. This script keeps a copy of it next to the document, under the key
`stan_processes` of docs/fault-tolerance.json (with the commit it was measured on; the file's other
keys - the faults on real pods, tests/e2e/faultdoc.py - are left alone) and rewrites the
document's generated blocks that are its own from that copy:

    .venv/bin/python -m pytest tests/stan          # measure: writes .build/stan-ft-results.json
    .venv/bin/python -m tests.stan.ftdoc --update   # copy it to docs/ and regenerate the blocks
    .venv/bin/python -m tests.stan.ftdoc --check    # exit 1 when the document and its results disagree

A generated block sits between `<!-- generated: NAME -->` and `<!-- end generated -->`; the
text between the markers is replaced whole, so edit the renderers below, never the block. Blocks
of other names belong to other generators and are left as they are.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "fault-tolerance.md"
RESULTS = REPO / "docs" / "fault-tolerance.json"
MEASURED = REPO / ".build" / "stan-ft-results.json"
KEY = "stan_processes"
DEFAULTS = REPO / "roles" / "stan" / "defaults" / "main.yml"
BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)
# The standby's retry interval after missed heartbeats (server/ft.go), not a measurement.
LOCK_RETRY_SECONDS = 1.25


def failover_sigkill(r: dict, _d: dict) -> str:
    rounds = r["sigkill_failovers"]
    rows = "\n".join(f"| {i} | {f['killed']} | {f['new_active']} | {f['seconds']:.2f} s |" for i, f in enumerate(rounds, start=1))
    seconds = [f["seconds"] for f in rounds]
    return (
        "| failover | killed | new active | SIGKILL to FT_ACTIVE |\n| --- | --- | --- | --- |\n" + rows + "\n\n"
        f"Range {min(seconds):.2f}-{max(seconds):.2f} s (median {statistics.median(seconds):.2f} s) in this run. "
        f"The killed server, restarted, was back as `FT_STANDBY` after {r['killed_server_back_as_standby_seconds']:.2f} s. "
        f"**Messages lost: {r['messages_lost']}** of {r['messages_published']} acknowledged "
        f"({r['messages_received_after_second_failover']} read back after the second failover).\n"
    )


def hung(r: dict, _d: dict) -> str:
    h = r["sigstop_active"]
    return (
        f"In this run the standbys stayed `FT_STANDBY` for the {h['observed_seconds_without_failover']:.1f} s the test watched the "
        f"stopped server (there is no time limit in the server), and after SIGKILL a standby was `FT_ACTIVE` "
        f"{h['failover_after_sigkill_seconds']:.2f} s later (the standbys are already retrying; at most {LOCK_RETRY_SECONDS} s).\n"
    )


def outage_bound(d: dict) -> float:
    return (d["stan_liveness_period_seconds"] * d["stan_liveness_failure_threshold"] + d["stan_liveness_timeout_seconds"]
            + d["stan_termination_grace_period_seconds"] + LOCK_RETRY_SECONDS)


def liveness_defaults(_r: dict, d: dict) -> str:
    return (
        f"The role's defaults are {d['stan_liveness_period_seconds']} s x {d['stan_liveness_failure_threshold']}, a "
        f"{d['stan_liveness_timeout_seconds']} s timeout and a {d['stan_termination_grace_period_seconds']} s grace period: "
        f"about **{outage_bound(d):.0f} s** (computed from `roles/stan/defaults/main.yml`).\n"
    )


def status_messages(r: dict, _d: dict) -> str:
    return (
        f"- All standby because the lock is held elsewhere (the test process holds `.rootdir.lck`):\n"
        f"  `{r['all_standby_lock_held_message']}`.\n"
        f"  Once the lock is released one server becomes active and `wait: true` succeeds (after "
        f"{r['wait_until_lock_released']['attempts']} reads, {r['wait_until_lock_released']['elapsed']:.1f} s, in this run).\n"
        f"- Two FT groups (separate stores) behind one list of monitor URLs:\n"
        f"  `{r['two_active_message']}`.\n"
    )


RENDERERS = {
    "failover-sigkill": failover_sigkill,
    "hung": hung,
    "liveness-defaults": liveness_defaults,
    "status-messages": status_messages,
}


def role_defaults() -> dict:
    return yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))


def render(text: str, results: dict, defaults: dict) -> str:
    """The document with each of this script's generated blocks rewritten from results[KEY]."""
    def block(match: re.Match) -> str:
        name = match.group("name")
        if name not in RENDERERS:
            return match.group(0)  # another generator's block
        return match.group(1) + RENDERERS[name](results[KEY]["figures"], defaults) + match.group(4)

    return BLOCK.sub(block, text)


def blocks(text: str) -> list[str]:
    """The names of this script's generated blocks in the text."""
    return [m.group("name") for m in BLOCK.finditer(text) if m.group("name") in RENDERERS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--update", action="store_true", help=f"copy {MEASURED.relative_to(REPO)} to {RESULTS.relative_to(REPO)}, regenerate")
    group.add_argument("--render", action="store_true", help=f"regenerate the blocks from {RESULTS.relative_to(REPO)}")
    group.add_argument("--check", action="store_true", help="exit 1 when a block is not what the results render to")
    args = parser.parse_args(argv)
    if args.update:
        sys.path.insert(0, str(REPO))
        from bench import provenance

        measured = json.loads(MEASURED.read_text(encoding="utf-8"))
        missing = [name for name in ("sigkill_failovers", "sigstop_active", "two_active_message")
                   if name not in measured]
        if missing:
            print(f"{MEASURED} lacks {', '.join(missing)}: run all of tests/stan first", file=sys.stderr)
            return 1
        record = {"command": ".venv/bin/python -m pytest tests/stan", "measured": provenance.snapshot(REPO), "figures": measured}
        everything = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
        everything[KEY] = record
        RESULTS.write_text(json.dumps(everything, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    text = DOC.read_text(encoding="utf-8")
    fresh = render(text, results, role_defaults())
    if args.check:
        if fresh != text:
            print(f"{DOC.relative_to(REPO)}: generated blocks differ from {RESULTS.relative_to(REPO)} (run -m tests.stan.ftdoc --render)")
            return 1
        print(f"{DOC.relative_to(REPO)}: blocks {', '.join(blocks(text))} match {RESULTS.relative_to(REPO)}")
        return 0
    DOC.write_text(fresh, encoding="utf-8")
    print(f"regenerated {', '.join(blocks(fresh))} in {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
