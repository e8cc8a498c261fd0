"""tests/run.py fails a stage that tests nothing, exactly as it fails a stage whose tests fail."""

from __future__ import annotations

import pytest

from tests import run


@pytest.fixture
def one_stage(monkeypatch):
    def install(func):
        monkeypatch.setattr(run, "STAGES", [("only", func, False)])
        monkeypatch.setattr(run, "stage_collection", lambda: None)

    return install


def test_a_stage_without_test_files_fails_the_run(one_stage, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run, "REPO", tmp_path)
    (tmp_path / "empty").mkdir()
    one_stage(lambda: run.pytest("empty"))
    assert run.main(["--only", "only"]) == 1
    out = capsys.readouterr().out
    assert "EMPTY" in out and "no tests under empty" in out


def test_a_stage_whose_files_hold_no_test_fails_the_run(one_stage, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run, "REPO", tmp_path)
    (tmp_path / "hollow").mkdir()
    (tmp_path / "hollow" / "test_nothing.py").write_text("VALUE = 1\n")
    one_stage(lambda: run.pytest("hollow"))
    assert run.main(["--only", "only"]) == 1
    assert "collected no tests" in capsys.readouterr().out


def test_a_stage_with_a_passing_test_passes(one_stage, tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(run, "REPO", tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    one_stage(lambda: run.pytest("real"))
    assert run.main(["--only", "only"]) == 0
    out = capfd.readouterr().out
    assert "1 passed" in out and "only         PASSED" in out
