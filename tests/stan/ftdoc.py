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

import json
import statistics
import sys
from pathlib import Path

import yaml

from tests.lib import gendoc

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "fault-tolerance.md"
RESULTS = REPO / "docs" / "fault-tolerance.json"
MEASURED = REPO / ".build" / "stan-ft-results.json"
KEY = "stan_processes"
DEFAULTS = REPO / "roles" / "stan" / "defaults" / "main.yml"
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
    figures = results[KEY]["figures"]
    return gendoc.rewrite(text, {name: (lambda f=f: f(figures, defaults)) for name, f in RENDERERS.items()})


def blocks(text: str) -> list[str]:
    """The names of this script's generated blocks in the text."""
    return gendoc.names(text, RENDERERS)


def update() -> str | None:
    sys.path.insert(0, str(REPO))
    from bench import provenance

    measured = json.loads(MEASURED.read_text(encoding="utf-8"))
    missing = [name for name in ("sigkill_failovers", "sigstop_active", "two_active_message") if name not in measured]
    if missing:
        return f"{MEASURED} lacks {', '.join(missing)}: run all of tests/stan first"
    gendoc.store(RESULTS, KEY, {"command": ".venv/bin/python -m pytest tests/stan", "measured": provenance.snapshot(REPO),
                                "figures": measured})
    return None


def regenerate(text: str) -> tuple[str, list[str]]:
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    fresh = render(text, results, role_defaults())
    return fresh, blocks(fresh)


def main(argv: list[str] | None = None) -> int:
    return gendoc.cli(argv, __doc__, repo=REPO, doc=DOC, results=RESULTS, measured=MEASURED, module="tests.stan.ftdoc",
                      update=update, regenerate=regenerate)


if __name__ == "__main__":
    sys.exit(main())
