"""Render docs/benchmarks.md (and the terminal table) from the results file bench/run.py writes.

Every figure in the document comes from that file (docs/benchmarks.json); nothing here measures.
`python bench/run.py --render` rewrites the document from the file alone.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass

COLUMNS = ("Figure", "Value", "Target", "Result", "How measured")
WIDTHS = (28, 44, 18, 7, 60)
COMMAND = ".venv/bin/python bench/run.py"
RESULTS_NAME = "docs/benchmarks.json"

# Targets (issue "fast no-op reruns"): measured side by side in one run, never asserted by tests.
FIRST_CONVERGE_MAX_SECONDS = 25.0
NOOP_MAX_SHARE_OF_FIRST = 1 / 4
NOOP_MAX_TIMES_KUBECTL = 3.0
FAILOVER_MEDIAN_TARGET = 3.0


@dataclass
class Row:
    figure: str
    value: str
    target: str = "-"
    result: str = "-"
    how: str = ""

    def cells(self) -> tuple[str, ...]:
        return (self.figure, self.value, self.target, self.result, self.how)


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "-"
    return "met" if ok else "NOT MET"


def text_table(rows: list[Row]) -> str:
    """A fixed-width table with wrapped cells and a rule between rows."""
    rule = "+" + "+".join("-" * (w + 2) for w in WIDTHS) + "+"
    lines = [rule, _text_line(COLUMNS), rule.replace("-", "=")]
    for row in rows:
        lines.append(_text_line(row.cells()))
        lines.append(rule)
    return "\n".join(lines)


def _text_line(cells: tuple[str, ...]) -> str:
    wrapped = [textwrap.wrap(cell, width) or [""] for cell, width in zip(cells, WIDTHS)]
    height = max(len(w) for w in wrapped)
    out = []
    for i in range(height):
        parts = [(w[i] if i < len(w) else "").ljust(width) for w, width in zip(wrapped, WIDTHS)]
        out.append("| " + " | ".join(parts) + " |")
    return "\n".join(out)


def markdown_table(rows: list[Row]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _c in COLUMNS) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def counts(counter: dict, limit: int | None = None) -> str:
    """'a 3, b 2, c 1' from {name: count}, most common first."""
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    if limit is not None and len(items) > limit:
        rest = sum(n for _k, n in items[limit:])
        items = items[:limit] + [(f"{len(counter) - limit} more", rest)]
    return ", ".join(f"{k} {n}" for k, n in items) or "none"


def rate(value: float) -> str:
    return f"{value:,.0f}"


def total(counter: dict) -> int:
    return sum(counter.values())


# --------------------------------------------------------------------------- rows
def playbook_rows(number: int, name: str, cloud: str, pair: dict, kubectl: dict | None, first_target: bool) -> list[Row]:
    first, noop = pair["first"], pair["noop"]
    share = noop["seconds"] / first["seconds"]
    rows = [Row(
        f"{number}a. {name} first converge",
        f"{first['seconds']:.1f} s (changed {first['changed']}; {total(first['cloud_calls'])} {cloud} calls, "
        f"{total(first['kube_verbs'])} Kubernetes requests)",
        f"<= {FIRST_CONVERGE_MAX_SECONDS:.0f} s" if first_target else "-",
        verdict(first["seconds"] <= FIRST_CONVERGE_MAX_SECONDS) if first_target else "-",
        f"wall clock around ansible-playbook playbooks/{name} on a fresh local environment (note 1)")]
    times = noop["seconds"] / kubectl["noop"]["seconds"] if kubectl else None
    value = f"{noop['seconds']:.1f} s, changed {noop['changed']}; {share:.2f} of ({number}a)"
    if times is not None:
        value += f"; {times:.1f}x kubectl's no-op of the same objects ({kubectl['noop']['seconds']:.1f} s, figure 7a)"
    ok = share <= NOOP_MAX_SHARE_OF_FIRST and noop["changed"] == 0 and (times is None or times <= NOOP_MAX_TIMES_KUBECTL)
    rows.append(Row(
        f"{number}b. {name} no-op rerun", value,
        f"<= {NOOP_MAX_SHARE_OF_FIRST:.2f} of ({number}a), <= {NOOP_MAX_TIMES_KUBECTL:.0f}x kubectl, changed 0",
        verdict(ok) if times is not None else verdict(ok) + " (no kubectl)",
        f"the same command again right after ({number}a) (note 2); where the time goes: details below"))
    kube_writes = len(noop["kube_writes"])
    rows.append(Row(
        f"{number}c. {name} no-op write calls",
        f"Kubernetes {kube_writes} (of {total(noop['kube_verbs'])} requests: {counts(noop['kube_verbs'])}; objects modified "
        f"{len(pair['noop_modified'])}); {cloud} {len(noop['cloud_writes'])} (of {total(noop['cloud_calls'])} calls"
        + (f": {', '.join(noop['cloud_writes'])}" if noop["cloud_writes"] else "") + ")",
        "0 and 0", verdict(kube_writes == 0 and not noop["cloud_writes"] and total(noop["cloud_calls"]) > 0),
        f"kube-apiserver audit log and the {cloud} request log of the run (notes 3, 4)"))
    return rows


def converge_rows(c: dict) -> list[Row]:
    kubectl = c["baseline"].get("kubectl")
    rows = playbook_rows(1, "aws.yml", "AWS", c["aws"], kubectl, True)
    rows += playbook_rows(2, "azure.yml", "ARM", c["azure"], kubectl, False)
    n = len(c["baseline"]["objects"])
    if kubectl:
        kf, kn = kubectl["first"], kubectl["noop"]
        rows.append(Row(
            "7a. Baseline: kubectl apply -f",
            f"first {kf['seconds']:.1f} s ({total(kf['kube_verbs'])} requests); no-op {kn['seconds']:.1f} s "
            f"({total(kn['kube_verbs'])} requests: {counts(kn['kube_verbs'])}; {len(kn['kube_writes'])} write calls, "
            f"objects modified {len(kubectl['noop_modified'])})",
            how=f"kubectl {kubectl['version']} apply -f on the {n} objects aws.yml applies, rendered by its roles into "
                f"another namespace (note 5)"))
    else:
        rows.append(Row("7a. Baseline: kubectl apply -f", "not run: no kubectl", how="(note 5)"))
    core = c["baseline"]["kubernetes_core"]
    rows.append(Row(
        "7b. Baseline: kubernetes.core.k8s",
        f"first {core['first']['seconds']:.1f} s; no-op {core['noop']['seconds']:.1f} s ({total(core['noop']['kube_verbs'])} "
        f"requests: {counts(core['noop']['kube_verbs'])}; {len(core['noop']['kube_writes'])} write calls, objects modified "
        f"{len(core['noop_modified'])})",
        how=f"one kubernetes.core.k8s task (apply: true, src: the same {n} objects), run twice (note 5)"))
    return rows


def stan_rows(f: dict, t: list[dict], options: dict) -> list[Row]:
    ok = f["median"] <= FAILOVER_MEDIAN_TARGET and f["lost"] == 0
    rows = [Row(
        "8. STAN failover, plain processes",
        f"median {f['median']:.2f} s, max {f['max']:.2f} s over {len(f['rounds'])} kills of the active server; "
        f"messages lost {f['lost']} of {f['acked']} acked (read back {f['received']}, duplicates {f['duplicates']})",
        f"median <= {FAILOVER_MEDIAN_TARGET:.0f} s, 0 lost", verdict(ok),
        "3 servers from the role's stan.conf, one store dir; SIGKILL -> first serverz FT_ACTIVE, polled every 50 ms; "
        "killed server restarted as standby; all messages read from the start after the last kill (note 6)")]
    for i, cfg in enumerate(t):
        letter = "abc"[i] if i < 3 else str(i)
        rows.append(Row(
            f"9{letter}. Publish throughput, {cfg['label']}",
            f"{rate(cfg['pipelined']['median'])} msgs/s pipelined ({options['inflight']} in flight); "
            f"{rate(cfg['one_at_a_time']['median'])} msgs/s one at a time; {options['size']} B messages",
            how=f"file_options {{{cfg['rendered_file_options']}}}. Durability: {cfg['durability']}. "
                f"Median of {options['repeats']} runs, one publisher on the active server, local disk (note 7)"))
    return rows


def rows_of(results: dict) -> list[Row]:
    rows: list[Row] = []
    if results.get("converge"):
        rows += converge_rows(results["converge"])
    else:
        rows.append(Row("1-7. Converge figures", "not measured in this run (--only stan)"))
    if results.get("failover"):
        rows += stan_rows(results["failover"], results["throughput"], results["options"])
    else:
        rows.append(Row("8-9. STAN figures", "not measured in this run (--only converge)"))
    rows.append(pods_row(results.get("pods_failover")))
    return rows


def pods_row(pods: dict | None) -> Row:
    """Figure 10: the takeovers the fault tests measured on the StatefulSet's pods."""
    figure = "10. STAN failover, real pods (crash, pod delete)"
    if not pods or not pods.get("faults"):
        return Row(figure, "no results of tests/e2e/test_faults.py in docs/fault-tolerance.json")
    faults = pods["faults"]
    value = "; ".join(f"{name}: {f['takeover_seconds']:.2f} s ({f['old_active']} -> {f['new_active']}), "
                      f"lost {f['lost']} of {f['acked']} acked" for name, f in faults.items())
    ok = all(f["takeover_seconds"] <= FAILOVER_MEDIAN_TARGET and f["lost"] == 0 for f in faults.values())
    return Row(figure, value, f"<= {FAILOVER_MEDIAN_TARGET:.0f} s, 0 lost", verdict(ok),
               f"aws.yml's StatefulSet on the kind workers; injection -> first serverz FT_ACTIVE on another pod, "
               f"polled every 0.1 s through the pod proxy; measured by `{pods['command']}` at commit "
               f"{pods['commit'][:12]}, copied from {pods['source']} (docs/fault-tolerance.md has all four faults)")


# --------------------------------------------------------------------------- document
NOTES = """\
1. **First converge.** `ansible-playbook playbooks/aws.yml -e cluster_name=bench -e aws_region=us-east-2
   -e k8s_namespace=bench-aws -e verify_ft=false` (and `playbooks/azure.yml` against the Azure
   Resource Manager stand-in, NFS protocol, namespace `bench-azure`), run through
   `tests/lib/ansible_runner.py` (json callback), timed with a monotonic clock around the whole
   process (Python start-up, inventory, every task). The environment is fresh:
   `tests/localenv/localenv.py up` in its own state directory (`.build/bench-env`), moto_server seeded
   by `tests/lib/aws_seed.py` with what eksctl leaves behind (VPC, 6 subnets in 3 AZs, node security
   groups, the EKS cluster), the `CSIDriver` objects of the EFS and Azure File drivers, and the local
   Kubernetes cluster of the pinned version. `verify_ft=false`: the FT check needs running servers,
   which figure 8 and docs/fault-tolerance.md measure. The run includes its waits: the claim bound to
   its static volume and the StatefulSet rolled out and ready, each followed with a watch.
2. **No-op rerun.** The same command again right after the first run, against the same state:
   changed is the play recap's changed count; the ratios divide wall times of this run. The
   kubectl ratio divides by figure 7a's no-op, which applies the same Kubernetes objects; the
   playbooks also do the cloud side (four AWS modules, two Azure modules), which kubectl does not.
3. **Cloud calls.** AWS: moto_server was started with `MOTO_RECORDER_FILEPATH`; the recorder is
   reset and started just before the run and stopped and downloaded just after, so it holds exactly
   the requests the run sent, each named `service:Operation` from botocore's own service models by
   `OperationNamer` in `tests/aws_noop_calls.py`; only `Describe*`/`List*`/`Get*` count as reads.
   Azure: the ARM stand-in logs every request; its log is cleared before the run and read after
   it; writes are PUT, PATCH, DELETE and POSTs other than `listKeys`, `checkNameAvailability` and the
   token request.
4. **Kubernetes requests.** The kube-apiserver writes an audit event (level Metadata) for every
   request. Counted: events received between the run's start and end whose user agent is the
   run's client (`OpenAPI-Generator/...` = the kubernetes Python client that kubernetes.core and this
   collection's modules use; `kubectl/...` for kubectl), which leaves out the control plane's own
   traffic. Requests with `dryRun=` are counted apart and are not writes. Write calls are
   create/update/patch/delete. Every object a no-op run sent a write call for was read before and
   after the run and compared without `status`, `resourceVersion` and the status subresource's
   managedFields: equal means the write call changed nothing.
5. **Baselines.** The Kubernetes objects `aws.yml` applies (the Namespace, the EFS CSI volume and
   claim, and the STAN Service, ConfigMap, StatefulSet and PodDisruptionBudget), rendered by the same
   roles with the same inputs (`render_only`) into another namespace, then applied twice: with
   `kubectl apply -f` (client-side apply) and with one `kubernetes.core.k8s` task (`apply: true`,
   `src:` the same file). Neither waits for anything; counted like (4).
6. **Failover.** `tests/lib/stan.py` renders `stan.conf` with Ansible from the `stan` role's
   template and defaults, placed on 127.0.0.1 with free ports and one shared store directory, and
   starts three real `nats-streaming-server` processes in one FT group. {kills} times: publish {batch}
   messages through all three servers' URLs and wait for every ack; SIGKILL the active server; poll
   every running server's `/streaming/serverz` every 50 ms until one answers `FT_ACTIVE` (time from
   the kill, resolution about 50 ms); restart the killed server and wait until it reports
   `FT_STANDBY` and every server's `/routez` shows routes to both others. Then read the channel from
   its first message: lost = acked messages not read back. The active server sends a heartbeat
   every 1 s (+-10%) and a standby tries the store lock 1.25 s (+-10%) after the last heartbeat it
   saw, so a takeover comes 0 to about 1.4 s after a kill depending on where the kill falls in the
   heartbeat cycle, plus the store recovery.
7. **Throughput.** For each file_options set, a fresh three-server FT group from the role's
   template (only `stan_file_options` overridden) with the store on the local disk named above. One
   publisher (the Go client, stan.go v0.10.4) connected straight to the active server publishes
   fixed-size messages with `PublishAsync`: *pipelined* = up to N unacked in flight, *one at a time*
   = 1 in flight, i.e. each publish waits for its ack. msgs/s = acked messages / time from the first
   publish to the last ack; a fresh channel per run; the value is the median of the runs (all runs
   are listed below).
8. **Reading the figures.** moto answers at once and creates filesystems and mount targets
   already available; on AWS they take minutes, so the first converge is longer there and the no-op
   share here is a worst case. The cluster, the emulators, the servers and Ansible share the machine
   above, so every figure carries that machine's noise; compare figures of one run with each other.
"""


def header_facts(results: dict) -> list[tuple[str, str]]:
    measured = results["measured"]
    facts = [tuple(pair) for pair in results["machine"]]
    commit = measured["commit"][:12] + f" ({measured['commit_date']})"
    if measured["uncommitted"]:
        commit += " with uncommitted changes to " + ", ".join(measured["uncommitted"])
    facts.insert(1, ("measured commit", commit))
    if results.get("converge"):
        facts.insert(2, ("Kubernetes cluster", results["converge"]["environment"]))
    facts.append(("bench wall time", f"{results['elapsed_seconds'] / 60:.1f} min"))
    if results.get("load_average"):
        start, end = results["load_average"]
        facts.append(("1-minute load average", f"{start:.2f} at the start, {end:.2f} at the end (other work on the machine "
                                               f"shares its CPUs: compare figures of one run with each other)"))
    return facts


def details(results: dict) -> str:
    out = ["## Details of this run", ""]
    c = results.get("converge")
    if c:
        runs = [("aws.yml first converge", c["aws"]["first"]), ("aws.yml no-op rerun", c["aws"]["noop"]),
                ("azure.yml first converge", c["azure"]["first"]), ("azure.yml no-op rerun", c["azure"]["noop"])]
        out += ["Cloud calls by operation:", ""]
        out += [f"- {name} ({total(run['cloud_calls'])}): {counts(run['cloud_calls'])}" for name, run in runs]
        out += ["", "Kubernetes requests by verb:", ""]
        baseline_runs = []
        if c["baseline"].get("kubectl"):
            baseline_runs += [("kubectl first", c["baseline"]["kubectl"]["first"]), ("kubectl no-op", c["baseline"]["kubectl"]["noop"])]
        baseline_runs += [("kubernetes.core.k8s first", c["baseline"]["kubernetes_core"]["first"]),
                          ("kubernetes.core.k8s no-op", c["baseline"]["kubernetes_core"]["noop"])]
        out += [f"- {name} ({total(run['kube_verbs'])}): {counts(run['kube_verbs'])}" for name, run in runs + baseline_runs]
        out += ["", "Write calls of the no-op reruns (verb and request URI):", ""]
        for name, pair in (("aws.yml", c["aws"]), ("azure.yml", c["azure"])):
            writes = "; ".join(f"{w['verb']} {w['uri']}" for w in pair["noop"]["kube_writes"]) or "none"
            out.append(f"- {name}: Kubernetes: {writes}; cloud: {', '.join(pair['noop']['cloud_writes']) or 'none'}")
        out += ["", "Where the time goes - the slowest tasks (seconds):", ""]
        out += [f"- {name}: " + "; ".join(f"{s:.1f} {n}" for s, n in run["slowest"]) for name, run in runs]
        floor = c.get("floor")
        if floor:
            out += ["", f"An empty play (ansible-playbook start-up, no task) takes {floor['empty_play']:.1f} s here; one module "
                        f"task that only starts and returns takes {floor['one_module_task']:.1f} s more (`ansible.builtin.ping`, "
                        f"same runner and settings). Each collection module runs in a Python process of its own that imports "
                        f"boto3 or the kubernetes client before it sends its first request, so a no-op rerun cannot take less "
                        f"than this floor:", ""]
            for name, run in runs[1::2]:
                if "module_tasks" in run:
                    least = floor["empty_play"] + run["module_tasks"] * floor["one_module_task"]
                    out.append(f"- {name}: {run['module_tasks']} module tasks, so at least {floor['empty_play']:.1f} + "
                               f"{run['module_tasks']} x {floor['one_module_task']:.1f} = {least:.1f} s of its {run['seconds']:.1f} s "
                               f"are start-up; the rest is the modules' imports, their API calls and the controller's templating.")
        out.append("")
    f, t = results.get("failover"), results.get("throughput")
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
        o = results["options"]
        out += [f"Throughput runs ({o['size']} B messages; pipelined {o['msgs']} messages with up to {o['inflight']} in flight, "
                f"one at a time {o['sync_msgs']} messages), msgs/s:", ""]
        for cfg in t:
            out.append(f"- {cfg['label']} (`{cfg['rendered_file_options']}`): pipelined "
                       f"{', '.join(rate(v) for v in cfg['pipelined']['runs'])}; one at a time "
                       f"{', '.join(rate(v) for v in cfg['one_at_a_time']['runs'])}")
        out.append("")
    return "\n".join(out)


def document(results: dict, batch: int) -> str:
    """docs/benchmarks.md, entirely from the results."""
    text = [
        "# Benchmarks",
        "",
        f"Generated by `{COMMAND}` (`bench/README.md`) from the results file it writes, `{RESULTS_NAME}`;",
        "do not edit it by hand (`bench/run.py --render` regenerates it from that file). Performance is",
        "measured by this script and printed, never asserted by timed tests. Every figure below comes",
        "from the one run described here; ratios divide figures of that same run.",
        "`bench/run.py --check` says whether the measured code has changed since the commit named below.",
        "",
        "## Machine and run",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in header_facts(results)],
        "",
        "## Results",
        "",
        markdown_table(rows_of(results)),
        "",
        "## How each figure was measured",
        "",
        NOTES.format(kills=results["options"]["kills"], batch=batch),
        details(results),
        *migration_section(),
    ]
    return "\n".join(text).rstrip() + "\n"


def migration_section() -> list[str]:
    """The migration figures, generated by bench/migration.py from its own results file (carried over, never measured here)."""
    from bench import migration

    body = migration.section(json.loads(migration.RESULTS.read_text(encoding="utf-8"))) if migration.RESULTS.exists() else ""
    return ["", "## STAN -> JetStream migration", "", "<!-- BEGIN migration-benchmark -->", body, "<!-- END migration-benchmark -->"]
