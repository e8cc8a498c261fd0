"""galaxy-importer (what Galaxy and Automation Hub run on upload) on the built tarball.

Run through `tests/run.py --only galaxy-importer`, which builds the tarball and runs the importer
from its own virtualenv with ansible-doc and ansible-lint enabled, like Galaxy does (no
dependencies installed). Here: no ERROR in its log, and every module and role documented in its
result JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.lib.paths import REPO

RESULT = os.environ.get("NSFT_GALAXY_IMPORTER_RESULT")


@pytest.fixture(scope="module")
def imported() -> tuple[dict, list[str]]:
    if not RESULT:
        pytest.fail("run this through `python tests/run.py --only galaxy-importer` (it runs the importer first)")
    result = Path(RESULT)
    log = (result.parent / "importer.log").read_text().splitlines()
    assert result.exists(), "the importer wrote no result: the import failed\n" + "\n".join(log[-30:])
    return json.loads(result.read_text()), log


def by_type(data: dict, content_type: str) -> dict:
    return {c["content_name"]: c for c in data["docs_blob"]["contents"] if c["content_type"] == content_type}


def test_no_error_and_every_check_ran(imported):
    _data, log = imported
    errors = [line for line in log if line.startswith("ERROR")]
    assert not errors, "\n".join(errors)
    skipped = [line for line in log if "not found, skipping" in line]
    assert not skipped, f"a check did not run: {skipped}"
    assert any(line.startswith("Linting collection via ansible-lint") for line in log)
    assert any("ansible-lint run complete" in line for line in log)
    assert "Importer processing completed successfully" in log


def test_every_module_has_its_documentation_examples_and_return_values(imported):
    data, _log = imported
    modules = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py"))
    found = by_type(data, "module")
    assert sorted(found) == modules
    for name, content in found.items():
        docs = content.get("doc_strings") or {}
        assert docs.get("doc", {}).get("short_description"), f"{name}: no documentation"
        assert docs.get("doc", {}).get("options"), f"{name}: no options"
        assert docs.get("examples") and docs.get("return"), f"{name}: no examples or return values"


def test_every_role_has_its_readme_and_description(imported):
    data, _log = imported
    roles = sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks" / "main.yml").exists())
    found = by_type(data, "role")
    assert sorted(found) == roles
    described = {c["name"]: c["description"] for c in data["contents"] if c["content_type"] == "role"}
    for name, content in found.items():
        assert content.get("readme_html"), f"{name}: no README"
        assert described.get(name), f"{name}: no description"


def test_metadata_is_what_galaxy_yml_and_runtime_yml_say(imported):
    import yaml

    data, _log = imported
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert data["metadata"]["version"] == galaxy["version"]
    assert data["metadata"]["dependencies"] == galaxy["dependencies"]
    assert data["requires_ansible"] == yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["requires_ansible"]
    assert data["docs_blob"]["collection_readme"]["html"]
