"""The collection builds with ansible-galaxy, installs into a fresh path and its docs render."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.lib.paths import REPO

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(REPO)],
                   check=True, capture_output=True, text=True)
    tarball = dist / "nats_streaming-ft-0.1.0.tar.gz"
    assert tarball.exists()
    dest = tmp_path_factory.mktemp("collections")
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "--force", "-p", str(dest), str(tarball)],
                   check=True, capture_output=True, text=True, cwd=str(dest))
    return tarball, dest


def test_tarball_ships_plugins_and_roles_but_no_tests_or_caches(installed):
    tarball = installed[0]
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "MANIFEST.json" in names and "meta/runtime.yml" in names
    assert any(n.startswith("plugins/modules/") for n in names)
    assert any(n.startswith("roles/stan/") for n in names)
    for forbidden in ("tests/", ".venv/", ".build/", ".localenv/", ".ansible/", "molecule/", "bench/", ".ci/",
                      "changelogs/fragments/", ".ansible-lint", ".yamllint", ".gitignore", "pyproject.toml",
                      "test-requirements.txt", "Makefile"):
        assert not [n for n in names if n.startswith(forbidden)], forbidden
    # What an execution environment build and Galaxy read.
    for shipped in ("COPYING", "CHANGELOG.rst", "changelogs/changelog.yaml", "requirements.txt", "bindep.txt",
                    "meta/execution-environment.yml", "roles/stan/README.md"):
        assert shipped in names, shipped


def test_manifest_declares_dependencies(installed):
    dest = installed[1]
    manifest = json.loads((dest / "ansible_collections/nats_streaming/ft/MANIFEST.json").read_text())
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("nats_streaming", "ft", "0.1.0")
    assert {"kubernetes.core", "amazon.aws"} <= set(info["dependencies"])


def test_runtime_requires_ansible_216():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"].startswith(">=2.16.0")  # ansible-core 2.16 or newer


def test_every_module_doc_renders_from_the_installed_collection(installed):
    dest = installed[1]
    modules = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
    assert modules, "no modules yet"
    # Only the installed collection: not the amazon.aws and kubernetes.core the `ansible` package
    # ships, so the docs must render from the collection's own doc fragments (as on Galaxy).
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(dest), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false"}
    for module in modules:
        out = subprocess.run([str(BIN / "ansible-doc"), "-t", "module", f"nats_streaming.ft.{module}", "--json"],
                             capture_output=True, text=True, env=env, check=False)
        assert out.returncode == 0, f"{module}: {out.stderr}"
        doc = json.loads(out.stdout)[f"nats_streaming.ft.{module}"]["doc"]
        assert doc["short_description"] and doc["options"] is not None


def test_action_groups_name_existing_modules():
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    modules = {p.stem for p in (REPO / "plugins" / "modules").glob("*.py")}
    for group, members in runtime["action_groups"].items():
        missing = {m for m in members if isinstance(m, str)} - modules
        assert not missing, f"group/{group} names missing modules {missing}"
