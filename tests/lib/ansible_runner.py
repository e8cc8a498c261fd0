"""Run ansible-playbook against the staged collection and collect per-task results."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .paths import REPO, stage_collection


class AnsibleOutputError(RuntimeError):
    """ansible-playbook's output held no JSON document from the json callback."""


@dataclass
class PlayResult:
    rc: int
    stdout: str
    stderr: str
    stats: dict
    tasks: list[dict]

    def task(self, name: str) -> dict:
        """The host result of the (last) task with this name."""
        found = [t for t in self.tasks if t["name"] == name]
        if not found:
            raise KeyError(f"no task named {name!r}; tasks: {[t['name'] for t in self.tasks]}")
        return found[-1]["result"]

    @property
    def changed(self) -> int:
        return sum(h.get("changed", 0) for h in self.stats.values())

    @property
    def failed(self) -> int:
        return sum(h.get("failures", 0) + h.get("unreachable", 0) for h in self.stats.values())


def ansible_env(extra: dict | None = None) -> dict[str, str]:
    collections = stage_collection()
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": f"{collections}{os.pathsep}{env.get('ANSIBLE_COLLECTIONS_PATH', '')}".rstrip(
                os.pathsep
            ),
            "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    env.update(extra or {})
    return env


def run_playbook(
    playbook: str | Path,
    extra_vars: dict | None = None,
    env: dict | None = None,
    check: bool = False,
    diff: bool = False,
    timeout: float = 1800,
    args: list[str] | None = None,
) -> PlayResult:
    """Run a playbook with the json callback; returns rc, stats and every task's host result."""
    cmd = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local", str(playbook)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    cmd += args or []
    full_env = ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"} | (env or {}))
    full_env.setdefault("ANSIBLE_CALLBACK_RESULT_FORMAT", "json")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=str(REPO), check=False)
    data = parse_json_callback(proc.stdout, proc.returncode, proc.stderr)
    tasks = []
    for play in data.get("plays", []):
        for task in play.get("tasks", []):
            for _host, result in task.get("hosts", {}).items():
                tasks.append({"name": task["task"]["name"], "result": result})
    return PlayResult(proc.returncode, proc.stdout, proc.stderr, data.get("stats", {}), tasks)


def parse_json_callback(stdout: str, rc: int = 0, stderr: str = "") -> dict:
    """The json callback's document: all of stdout, or (with -v...) the document that ends it.

    Raises AnsibleOutputError when there is none: a run whose output cannot be read must never
    pass for one that changed nothing or failed nothing.
    """
    candidates = [0] + [m.start() + 1 for m in re.finditer(r"\n\{", stdout)][::-1]
    for start in candidates:
        try:
            data = json.loads(stdout[start:])
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("plays"), list) and isinstance(data.get("stats"), dict):
            return data
    raise AnsibleOutputError(
        f"ansible-playbook (rc={rc}) printed no JSON document of the json callback; "
        f"stdout ends with: {stdout[-1500:]!r}; stderr ends with: {stderr[-1500:]!r}"
    )
