"""Render the roles without a cluster and compare Kubernetes objects field by field.

Every case becomes one play of a generated playbook, so a whole set of cases costs one
ansible-playbook run. A play includes the role with the case's variables and writes the
rendered objects (or, when the role fails, the failing task's name and message) to JSON.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.lib.ansible_runner import PlayResult, run_playbook

from .realserver import parsed_options

ROLES = {
    "stan": ("nats_streaming.ft.stan", "stan_manifests"),
    "efs_provisioner": ("nats_streaming.ft.efs_provisioner", "efs_provisioner_manifests"),
    "azure_files": ("nats_streaming.ft.azure_files", "azure_files_manifests"),
    "nats_jetstream": ("nats_streaming.ft.nats_jetstream", "nats_jetstream_manifests"),
}

# Inputs that reproduce the seed guide's manifests.
GUIDE_INPUTS = {
    "efs_provisioner": {
        "efs_provisioner_mode": "provisioner",
        "efs_provisioner_file_system_id": "fs-c22a24bb",
        "efs_provisioner_aws_region": "us-east-2",
    },
    "stan": {},
    "nats_jetstream": {},
    "azure_files": {
        "azure_files_storage_account_name": "stanstore",
        "azure_files_storage_account_key": "bm90LWEtcmVhbC1rZXk=",
        "azure_files_share_name": "stan",
    },
}


def render_cases(cases: dict[str, tuple[str, dict]], workdir: Path, env: dict | None = None,
                 render_only: bool = True, args: list[str] | None = None) -> tuple[dict[str, dict], PlayResult]:
    """Render {name: (role, vars)}; returns {name: {"failed", "manifests", "conf", "task", "msg"}}."""
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "results.json"
    plays = []
    for name, (role, role_vars) in cases.items():
        fqcn, fact = ROLES[role]
        play_vars = {f"{role}_render_only": render_only, **role_vars}
        success = "{{ {'failed': false, 'manifests': %s, 'conf': __stan_conf | default('')} }}" % fact
        failure = "{{ {'failed': true, 'task': ansible_failed_task.name, 'msg': ansible_failed_result.msg | default('')} }}"
        record = "{{ render_results | default({}) | combine({%s: __case_result}) }}" % json.dumps(name)
        plays.append({
            "name": f"Case {name}",
            "hosts": "localhost",
            "gather_facts": False,
            "vars": play_vars,
            "tasks": [{
                "name": f"Render {name}",
                "block": [
                    {"name": "Include the role", "ansible.builtin.include_role": {"name": fqcn}},
                    {"name": "Record the rendered objects", "no_log": True,
                     "ansible.builtin.set_fact": {"render_results": record}, "vars": {"__case_result": success}},
                ],
                "rescue": [
                    {"name": "Record the failure", "no_log": True,
                     "ansible.builtin.set_fact": {"render_results": record}, "vars": {"__case_result": failure}},
                ],
            }],
        })
    plays.append({
        "name": "Write the results",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [{"name": "Write the results", "no_log": True,
                   "ansible.builtin.copy": {"content": "{{ render_results | to_json }}", "dest": str(out), "mode": "0600"}}],
    })
    playbook = workdir / "render.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    result = run_playbook(playbook, env=env, args=args)
    if not out.exists():
        raise AssertionError(f"rendering produced nothing (rc={result.rc}):\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    results = json.loads(out.read_text())
    missing = [name for name in cases if name not in results]
    if missing:
        raise AssertionError(f"cases {missing} produced nothing (rc={result.rc}):\n{result.stderr[-3000:]}")
    return results, result


def load_seed(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


# --------------------------------------------------------------------------- comparison
MISSING = "<missing>"


def normalize(obj):
    """Drop null values (kubectl apply drops them too) and replace stan.conf by its meaning: the options
    nats-streaming-server's own parser makes of it (tests/roles/realserver.py)."""
    if isinstance(obj, dict):
        out = {k: normalize(v) for k, v in obj.items() if v is not None}
        if out.get("kind") == "ConfigMap" and isinstance(out.get("data"), dict):
            data = dict(out["data"])
            for key, value in data.items():
                if key.endswith(".conf"):
                    data[key] = parsed_options(value)
            out["data"] = data
        return out
    if isinstance(obj, list):
        return [normalize(v) for v in obj]
    return obj


def object_key(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def _named(items: list) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def field_diff(seed, ours, path: str) -> list[tuple[str, object, object]]:
    """Differences as (path, seed value, our value); lists of named items match by name."""
    if isinstance(seed, dict) and isinstance(ours, dict):
        diffs = []
        for key in list(seed) + [k for k in ours if k not in seed]:
            sub = f"{path}.{key}" if path else str(key)
            diffs += field_diff(seed.get(key, MISSING), ours.get(key, MISSING), sub)
        return diffs
    if isinstance(seed, list) and isinstance(ours, list):
        if _named(seed) and _named(ours):
            seed_by = {i["name"]: i for i in seed}
            ours_by = {i["name"]: i for i in ours}
            diffs = []
            for key in list(seed_by) + [k for k in ours_by if k not in seed_by]:
                diffs += field_diff(seed_by.get(key, MISSING), ours_by.get(key, MISSING), f"{path}[{key}]")
            return diffs
        if len(seed) == len(ours):
            diffs = []
            for index, (a, b) in enumerate(zip(seed, ours, strict=True)):
                diffs += field_diff(a, b, f"{path}[{index}]")
            return diffs
    return [] if seed == ours else [(path, seed, ours)]


def manifest_diff(seed_objects: list[dict], our_objects: list[dict]) -> list[tuple[str, object, object]]:
    seed_by = {object_key(o): normalize(o) for o in seed_objects}
    ours_by = {object_key(o): normalize(o) for o in our_objects}
    diffs = []
    for key in list(seed_by) + [k for k in ours_by if k not in seed_by]:
        if key not in ours_by:
            diffs.append((key, "<object>", MISSING))
        elif key not in seed_by:
            diffs.append((key, MISSING, "<object>"))
        else:
            diffs += [(f"{key}:{p}", a, b) for p, a, b in field_diff(seed_by[key], ours_by[key], "")]
    return diffs


def pattern_regex(pattern: str) -> re.Pattern:
    """'*' matches anything; every other character is literal (paths contain brackets)."""
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")
