"""Every rendered manifest passes `kubernetes-validate --strict` for every supported
Kubernetes version (1.29 and newer that kubernetes-validate knows)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes_validate.utils import all_versions

from .conftest import STANDARD_CASES

MIN_VERSION = (1, 29)
VERSIONS = sorted({v for v in all_versions() if tuple(int(p) for p in v.split(".")[:2]) >= MIN_VERSION},
                  key=lambda v: tuple(int(p) for p in v.split(".")))
# Custom resources kubernetes-validate has no schema for (it warns and skips them).
CRD_KINDS = {"ServiceMonitor"}
CLI = str(Path(sys.executable).with_name("kubernetes-validate"))


@pytest.fixture(scope="module")
def manifest_files(rendered, tmp_path_factory):
    root = tmp_path_factory.mktemp("manifests")
    files = []
    for case in STANDARD_CASES:
        for index, obj in enumerate(rendered[case]["manifests"]):
            path = root / f"{case}-{index:02d}-{obj['kind']}-{obj['metadata']['name']}.yaml"
            path.write_text(yaml.safe_dump(obj, sort_keys=False))
            files.append(path)
    kinds = {yaml.safe_load(f.read_text())["kind"] for f in files}
    assert {"StatefulSet", "Service", "ConfigMap", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor",
            "Deployment", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount",
            "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "Secret"} <= kinds
    return files


def test_versions_cover_the_supported_range():
    assert VERSIONS[0] == "1.29.0"
    assert len(VERSIONS) >= 5


@pytest.mark.parametrize("version", VERSIONS)
def test_rendered_manifests_pass_kubernetes_validate_strict(manifest_files, version):
    proc = subprocess.run([CLI, "--strict", "-k", version, *map(str, manifest_files)],
                          capture_output=True, text=True, check=False)
    lines = (proc.stdout + proc.stderr).splitlines()
    errors = [line for line in lines if line.startswith("ERROR")]
    warnings = [line for line in lines if line.startswith("WARN")
                and not any(f"kind {kind} " in line for kind in CRD_KINDS)]
    assert proc.returncode == 0 and not errors, "\n".join(errors or lines[-20:])
    assert not warnings, "\n".join(warnings)
    passed = [line for line in lines if line.startswith("INFO") and "passed" in line]
    skipped_crds = [line for line in lines if line.startswith("WARN")]
    assert len(passed) + len(skipped_crds) == len(manifest_files)
