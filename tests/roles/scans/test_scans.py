"""checkov and kube-score on the default renders of the three roles (and the opt-in legacy
efs-provisioner): every finding they report is listed in docs/roles.md with the reason it stays,
and every finding listed there still occurs.

Run through `tests/run.py --only scan`, which installs checkov (its own virtualenv) and
kube-score (`go install`) under .build/ and passes their paths in NSFT_CHECKOV and NSFT_KUBE_SCORE.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import yaml

from tests.lib.paths import REPO
from tests.roles.rendering import render_cases
from tests.roles.scans.cases import DEFAULT_RENDERS

DOCS = REPO / "docs" / "roles.md"
ROW = re.compile(r"^\| (checkov|kube-score) \| `([A-Za-z0-9_-]+)` \| `([a-z_]+)` \| `([A-Za-z]+/[a-z0-9.-]+)` \| (.+) \|$")


def tool(env: str) -> str:
    path = os.environ.get(env)
    if not path:
        pytest.fail(f"{env} is not set: run this through `python tests/run.py --only scan`")
    return path


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> dict:
    workdir = tmp_path_factory.mktemp("scan")
    results, play = render_cases(DEFAULT_RENDERS, workdir / "render")
    files = {}
    for name, result in results.items():
        assert not result["failed"], f"{name}: {result}\n{play.stderr[-2000:]}"
        files[name] = workdir / f"{name}.yaml"
        files[name].write_text(yaml.safe_dump_all(result["manifests"], sort_keys=False))
    return files


def checkov_findings(path) -> set[tuple[str, str, str]]:
    out = subprocess.run([tool("NSFT_CHECKOV"), "-f", str(path), "--framework", "kubernetes", "--quiet", "--compact",
                          "-o", "json"], capture_output=True, text=True, check=False)
    data = json.loads(out.stdout or "{}")
    if isinstance(data, list):
        data = data[0] if data else {}
    assert out.returncode in (0, 1), out.stderr[-2000:]
    found = set()
    for check in data.get("results", {}).get("failed_checks", []):
        kind, _namespace, name = check["resource"].split(".")[:3]
        found.add(("checkov", check["check_id"], f"{kind}/{name}"))
    return found


def kube_score_findings(path) -> set[tuple[str, str, str]]:
    out = subprocess.run([tool("NSFT_KUBE_SCORE"), "score", str(path), "-o", "json"], capture_output=True, text=True,
                         check=False)
    assert out.stdout, out.stderr[-2000:]
    found = set()
    for obj in json.loads(out.stdout) or []:  # null when nothing in the file is scored (PV, PVC)
        kind = obj["type_meta"]["kind"]
        name = obj["object_meta"]["name"]
        for check in obj["checks"]:
            if not check.get("skipped") and check["grade"] < 10:  # 1 critical, 5 warning, 10 ok
                found.add(("kube-score", check["check"]["id"], f"{kind}/{name}"))
    return found


@pytest.fixture(scope="module")
def findings(renders) -> set[tuple[str, str, str, str]]:
    found = set()
    for render, path in renders.items():
        for tool_name, check, obj in checkov_findings(path) | kube_score_findings(path):
            found.add((tool_name, check, render, obj))
    print("\nscanner findings on the default renders:")
    for finding in sorted(found):
        print("  " + " ".join(finding))
    return found


def documented() -> dict[tuple[str, str, str, str], str]:
    rows = {}
    for line in DOCS.read_text().splitlines():
        match = ROW.match(line)
        if match:
            key = match.groups()[:4]
            assert key not in rows, f"docs/roles.md lists {key} twice"
            rows[key] = match.group(5).strip()
    return rows


def test_the_scanners_ran_and_looked_at_every_render(renders, findings):
    # Sanity of the measurement itself: each tool reports something on the StatefulSet (CPU limits are
    # deliberately unset), so an empty result would mean a broken run, not a clean render.
    assert ("checkov", "CKV_K8S_11", "stan", "StatefulSet/stan") in findings
    assert ("kube-score", "container-resources", "stan", "StatefulSet/stan") in findings
    assert set(renders) == set(DEFAULT_RENDERS)


def test_every_finding_is_documented_with_its_reason(findings):
    rows = documented()
    missing = sorted(findings - set(rows))
    assert not missing, "findings not listed in docs/roles.md (fix them or list them with the reason):\n" + "\n".join(
        f"| {t} | `{c}` | `{r}` | `{o}` | <why> |" for t, c, r, o in missing
    )
    assert all(len(reason) > 20 for reason in rows.values()), "every listed finding needs its reason"


def test_no_documented_finding_is_stale(findings):
    stale = sorted(set(documented()) - findings)
    assert not stale, f"docs/roles.md lists findings the scanners no longer report (remove them): {stale}"


def test_the_legacy_provisioner_is_hardened(findings):
    """The checks the issue found failing on the legacy efs-provisioner now pass."""
    fixed = {"CKV_K8S_8", "CKV_K8S_9", "CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_28", "CKV_K8S_29", "CKV_K8S_30",
             "CKV_K8S_31", "CKV_K8S_37", "CKV_K8S_10", "CKV_K8S_12", "CKV_K8S_13"}
    legacy = {check for tool_name, check, render, _obj in findings if render == "efs_provisioner_legacy"}
    assert not legacy & fixed, sorted(legacy & fixed)
    assert ("kube-score", "container-security-context-readonlyrootfilesystem", "efs_provisioner_legacy",
            "Deployment/efs-provisioner") not in findings
