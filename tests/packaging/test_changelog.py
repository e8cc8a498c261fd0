"""The changelog is released as the galaxy.yml version and names every module and role."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import yaml

from tests.lib.paths import COLLECTION_LINK, REPO, stage_collection

BIN = Path(sys.executable).parent


def release():
    version = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    releases = yaml.safe_load((REPO / "changelogs" / "changelog.yaml").read_text())["releases"]
    assert version in releases, f"galaxy.yml version {version} is not released in changelogs/changelog.yaml"
    return version, releases[version]


def module_docs():
    for path in sorted((REPO / "plugins" / "modules").glob("*.py")):
        tree = ast.parse(path.read_text())
        docs = [n.value.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "DOCUMENTATION"]
        assert docs, f"{path.name} has no DOCUMENTATION"
        yield path.stem, yaml.safe_load(docs[0])


def test_antsibull_changelog_lint_is_clean():
    stage_collection()
    out = subprocess.run([str(BIN / "antsibull-changelog"), "lint"], cwd=COLLECTION_LINK, capture_output=True, text=True, check=False)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr


def test_every_module_is_in_the_release_with_its_version_added():
    version, rel = release()
    released = {m["name"] for m in rel.get("modules", [])}
    for name, doc in module_docs():
        assert doc.get("version_added") == version or name not in released, name
        assert str(doc.get("version_added")) <= version, name
    assert {name for name, doc in module_docs() if doc["version_added"] == version} <= released


def test_every_role_is_in_the_release():
    version, rel = release()
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())
    assert sorted(o["name"] for o in rel.get("objects", {}).get("role", [])) == roles


def test_the_rendered_changelog_is_committed():
    assert (REPO / "CHANGELOG.rst").read_text().count("v" + release()[0]) >= 1
