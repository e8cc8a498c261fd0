"""Measured figures in docs/ are generated from the results files the measuring commands write,
never copied by hand, and the benchmark says when the code it measured has changed since."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from bench import provenance, report
from tests.lib.paths import REPO
from tests.stan import ftdoc


def test_benchmarks_md_is_what_its_results_file_renders_to():
    results = json.loads((REPO / report.RESULTS_NAME).read_text(encoding="utf-8"))
    rendered = report.document(results, results["failover_batch"])
    assert (REPO / "docs" / "benchmarks.md").read_text(encoding="utf-8") == rendered, "edited by hand: run bench/run.py --render"
    assert results["measured"]["commit"][:12] in rendered


def test_fault_tolerance_md_blocks_are_what_its_results_file_renders_to():
    text = ftdoc.DOC.read_text(encoding="utf-8")
    assert sorted(ftdoc.blocks(text)) == sorted(ftdoc.RENDERERS), "every renderer has its block, and only those"
    results = json.loads(ftdoc.RESULTS.read_text(encoding="utf-8"))
    assert ftdoc.render(text, results, ftdoc.role_defaults()) == text, "edited by hand: run python -m tests.stan.ftdoc --render"


def test_a_generated_block_does_not_survive_a_hand_edit():
    text = ftdoc.DOC.read_text(encoding="utf-8")
    results = json.loads(ftdoc.RESULTS.read_text(encoding="utf-8"))
    edited = text.replace("<!-- generated: hung -->\n", "<!-- generated: hung -->\nIt took 0.01 s.\n", 1)
    assert ftdoc.render(edited, results, ftdoc.role_defaults()) == text


def test_the_liveness_figures_in_roles_md_match_the_role_defaults():
    defaults = yaml.safe_load((REPO / "roles" / "stan" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    row = next(line for line in (REPO / "docs" / "roles.md").read_text(encoding="utf-8").splitlines() if line.startswith("| D17 |"))
    found = re.search(r"liveness every (\d+) s x (\d+) with a (\d+) s timeout; (\d+) s grace period.*about (\d+) s instead", row)
    assert found, row
    period, threshold, timeout, grace, outage = map(int, found.groups())
    assert (period, threshold, timeout, grace) == (defaults["stan_liveness_period_seconds"], defaults["stan_liveness_failure_threshold"],
                                                   defaults["stan_liveness_timeout_seconds"], defaults["stan_termination_grace_period_seconds"])
    assert outage == round(ftdoc.outage_bound(defaults))


@pytest.fixture
def repo(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "bench@example.invalid")
    git("config", "user.name", "bench")
    for path in ("roles/stan/tasks/main.yml", "bench/run.py", "docs/other.md"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("v1\n")
    git("add", "-A")
    git("commit", "-qm", "one")
    return tmp_path, git


def test_provenance_names_the_measured_paths_that_changed(repo):
    root, git = repo
    recorded = provenance.snapshot(root, ("roles", "bench"))
    assert recorded["uncommitted"] == [] and set(recorded["trees"]) == {"roles", "bench"}
    assert provenance.changed_since(root, recorded) == []
    (root / "docs" / "other.md").write_text("v2\n")  # not measured code
    git("commit", "-qam", "docs")
    assert provenance.changed_since(root, recorded) == []
    (root / "roles" / "stan" / "tasks" / "main.yml").write_text("v2\n")
    assert provenance.changed_since(root, recorded) == ["roles/stan/tasks/main.yml (uncommitted)"]
    git("commit", "-qam", "role")
    assert provenance.changed_since(root, recorded) == ["roles"]


def test_bench_check_fails_when_measured_code_changed_since(monkeypatch, repo, capsys):
    from bench import run

    root, git = repo
    results = json.loads((REPO / report.RESULTS_NAME).read_text(encoding="utf-8"))
    results["measured"] = provenance.snapshot(root, ("roles", "bench"))
    (root / "docs" / "benchmarks.json").write_text(json.dumps(results))
    (root / "docs" / "benchmarks.md").write_text(run.render(results))
    monkeypatch.setattr(run, "REPO", root)
    monkeypatch.setattr(run, "RESULTS", root / "docs" / "benchmarks.json")
    monkeypatch.setattr(run, "DOC", root / "docs" / "benchmarks.md")
    assert run.main(["--check"]) == 0
    (root / "bench" / "run.py").write_text("v2\n")
    git("commit", "-qam", "bench")
    assert run.main(["--check"]) == 1
    assert "measured code changed since" in capsys.readouterr().out
    (root / "docs" / "benchmarks.md").write_text(run.render(results).replace("NOT MET", "met"))
    assert run.main(["--check"]) == 1
    assert "edited by hand" in capsys.readouterr().out
