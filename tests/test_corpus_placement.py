"""Whole-model placement on the real-model corpus (issue 13): tests/corpus/placement-rk3588.json holds, per model,
the CPU layers of a real rknn-toolkit2 build (tools/compare_placement.py) beside the nodes TG003/TG005/TG006
predict for the same static copy of the model.

* the record is consistent: `agree`, `predicted_only`, `toolkit_only` and `toolkit_inserted` split the two lists;
* every difference is explained in the file's `explanations`;
* with the corpus cache, onnxlint still predicts what the record says (a change to placement shows up here, and
  the record is made again with tools/compare_placement.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import onnx
import pytest
from test_corpus import model_path

import onnxlint

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from compare_placement import PLACEMENT_RULES, static_copy  # noqa: E402

RESULTS = json.loads((ROOT / "tests" / "corpus" / "placement-rk3588.json").read_text("utf-8"))
RECORDS = RESULTS["records"]


def _names(entries: list[dict]) -> set[str]:
    return {entry["node"] for entry in entries}


@pytest.mark.parametrize("record", RECORDS, ids=[r["model"] for r in RECORDS])
def test_record_is_consistent_and_explained(record):
    predicted, cpu = _names(record["predicted"]), _names(record["toolkit_cpu"]) - {None}
    agree, only_predicted = set(record["agree"]), set(record["predicted_only"])
    only_toolkit = set(record["toolkit_only"])
    assert agree | only_predicted == predicted and not agree & only_predicted
    assert agree | only_toolkit == cpu and not agree & only_toolkit
    inserted = sorted(layer["name"] for layer in record["toolkit_cpu"] if layer["node"] is None)
    assert record["toolkit_inserted"] == inserted
    assert {entry["code"] for entry in record["predicted"]} <= set(PLACEMENT_RULES)
    if only_predicted or only_toolkit or inserted or record["build"] != "ok":
        assert record["model"] in RESULTS["explanations"], f"explain {record['model']}'s differences"


def test_explanations_belong_to_records():
    assert set(RESULTS["explanations"]) <= {record["model"] for record in RECORDS}


@pytest.mark.corpus
@pytest.mark.parametrize("record", RECORDS, ids=[r["model"] for r in RECORDS])
def test_predictions_are_still_those_recorded(record, tmp_path):
    fixed, used = static_copy(onnx.load(str(model_path(record["model"]))), record["inputs"])
    assert used == record["inputs"]
    path = tmp_path / f"{record['model']}.onnx"
    onnx.save(fixed, str(path))
    version = record["toolkit"].split()[-1]
    report = onnxlint.lint(path, target=record["chip"], select=list(PLACEMENT_RULES), toolkit=version)
    predicted = [
        {"node": where.node, "op_type": where.op_type, "code": finding.code}
        for finding in report.findings
        for where in (finding.location, *finding.related)
    ]
    assert predicted == record["predicted"], (
        f"placement changed: rerun tools/compare_placement.py for {record['model']} and explain the differences"
    )
