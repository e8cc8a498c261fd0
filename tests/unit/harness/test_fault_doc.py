"""docs/fault-tolerance.md's "faults on real pods" block is generated from the fault tests' results
(tests/e2e/faultdoc.py), never edited by hand, and updating it keeps the rest of the results file."""

from __future__ import annotations

import copy
import json

import pytest

from tests.e2e import faultdoc


@pytest.fixture
def record() -> dict:
    return json.loads(faultdoc.RESULTS.read_text(encoding="utf-8"))[faultdoc.KEY]


def test_the_block_is_what_the_committed_results_render_to(record):
    text = faultdoc.DOC.read_text(encoding="utf-8")
    assert faultdoc.render_doc(text, record) == text, "edited by hand: run python -m tests.e2e.faultdoc --render"


def test_every_fault_is_in_the_committed_results_with_nothing_acked_lost(record):
    faults = record["figures"]["faults"]
    assert sorted(faults) == sorted(faultdoc.FAULTS)
    for name, f in faults.items():
        assert f["lost"] == 0 and f["received"] >= f["acked"] > 0, name
        assert f["new_active"] != f["old_active"], name
    assert len(record["measured"]["commit"]) == 40
    assert sorted(record["measured"]["trees"]) == sorted(faultdoc.MEASURED_PATHS)


def test_a_hand_edit_of_the_block_does_not_survive(record):
    text = faultdoc.DOC.read_text(encoding="utf-8")
    marker = f"<!-- generated: {faultdoc.NAME} -->\n"
    edited = text.replace(marker, marker + "Takeover took 0.01 s.\n", 1)
    assert edited != text
    assert faultdoc.render_doc(edited, record) == text


def test_a_changed_figure_changes_the_document(record):
    changed = copy.deepcopy(record)
    changed["figures"]["faults"]["crash"]["takeover_seconds"] = 12.345
    assert "**12.35 s**" in faultdoc.render(changed)
    assert "**12.35 s**" not in faultdoc.render(record)


def test_update_keeps_the_other_results_and_refuses_an_incomplete_run(tmp_path, monkeypatch, record, capsys):
    doc, results, measured = tmp_path / "fault-tolerance.md", tmp_path / "fault-tolerance.json", tmp_path / "measured.json"
    doc.write_text(f"# x\n<!-- generated: {faultdoc.NAME} -->\nold\n<!-- end generated -->\n", encoding="utf-8")
    results.write_text(json.dumps({"figures": {"from": "the plain-process tests"}}), encoding="utf-8")
    monkeypatch.setattr(faultdoc, "DOC", doc)
    monkeypatch.setattr(faultdoc, "RESULTS", results)
    monkeypatch.setattr(faultdoc, "MEASURED", measured)

    partial = copy.deepcopy(record["figures"])
    del partial["faults"]["hang"]
    measured.write_text(json.dumps(partial), encoding="utf-8")
    assert faultdoc.main(["--update"]) == 1
    assert "lacks the faults hang" in capsys.readouterr().err
    assert faultdoc.KEY not in json.loads(results.read_text())

    measured.write_text(json.dumps(record["figures"]), encoding="utf-8")
    assert faultdoc.main(["--update"]) == 0
    stored = json.loads(results.read_text())
    assert stored["figures"] == {"from": "the plain-process tests"}
    assert stored[faultdoc.KEY]["figures"] == record["figures"]
    assert "old" not in doc.read_text() and "| crash |" in doc.read_text()
    assert faultdoc.main(["--check"]) == 0
    doc.write_text(doc.read_text().replace("| crash |", "| crash (edited) |"))
    assert faultdoc.main(["--check"]) == 1
