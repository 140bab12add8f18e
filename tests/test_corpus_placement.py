"""Whole-model placement on the real-model corpus (issue 13): tests/corpus/placement-CHIP.json (rk3588, an fp16
build, and rv1106, an int8 build) holds, per model, the CPU layers of a real rknn-toolkit2 build
(tools/compare_placement.py) beside the nodes TG003/TG005/TG006 predict for the same static copy of the model.

* every corpus model has one record per chip, and each is consistent: `agree`, `predicted_only`, `toolkit_only`
  and `toolkit_inserted` split the two lists;
* every difference is explained in the file's `explanations`, and so is every build that fails or that TG008
  predicts to fail (`predicted_failures`);
* with the corpus cache, onnxlint still predicts what the record says (a change to placement shows up here, and
  the record is made again with tools/compare_placement.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import onnx
import pytest
from test_corpus import MANIFEST, model_path

from onnxlint.rknn.buildfail import build_failures
from onnxlint.rknn.knowledge import int8_only_chips

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from compare_placement import PLACEMENT_RULES, attributed, predictions, static_copy  # noqa: E402

CHIPS = ("rk3588", "rv1106")
RESULTS = {
    chip: json.loads((ROOT / "tests" / "corpus" / f"placement-{chip}.json").read_text("utf-8")) for chip in CHIPS
}
RECORDS = [record for chip in CHIPS for record in RESULTS[chip]["records"]]
IDS = [f"{record['chip']}-{record['model']}" for record in RECORDS]


def version_of(record: dict) -> str:
    return record["toolkit"].split()[-1]  # "rknn-toolkit2 2.5.0"


def _names(entries: list[dict]) -> set[str]:
    return {entry["node"] for entry in entries}


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_record_is_consistent_and_explained(record):
    predicted, cpu = _names(record["predicted"]), _names(record["toolkit_cpu"]) - {None}
    agree, only_predicted = set(record["agree"]), set(record["predicted_only"])
    only_toolkit = set(record["toolkit_only"])
    assert agree | only_predicted == predicted and not agree & only_predicted
    assert agree | only_toolkit == cpu and not agree & only_toolkit
    inserted = sorted(layer["name"] for layer in record["toolkit_cpu"] if layer["node"] is None)
    assert record["toolkit_inserted"] == inserted
    assert {entry["code"] for entry in record["predicted"]} <= set(PLACEMENT_RULES)
    assert record["quantized"] == (record["chip"] in int8_only_chips())
    assert set(record["predicted_failures"]) <= {failure.id for failure in build_failures(version_of(record))}
    failing = record["build"] != "ok" or record["predicted_failures"]
    if only_predicted or only_toolkit or inserted or failing:
        explanations = RESULTS[record["chip"]]["explanations"]
        assert record["model"] in explanations, f"explain {record['model']}'s differences on {record['chip']}"


@pytest.mark.parametrize("chip", CHIPS)
def test_every_corpus_model_is_recorded_once_and_explanations_belong_to_records(chip):
    records = RESULTS[chip]["records"]
    assert {record["chip"] for record in records} == {chip}
    assert sorted(record["model"] for record in records) == sorted(model["name"] for model in MANIFEST)
    assert set(RESULTS[chip]["explanations"]) <= {record["model"] for record in records}


@pytest.mark.corpus
@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_predictions_are_still_those_recorded(record, tmp_path):
    fixed, used = static_copy(onnx.load(str(model_path(record["model"]))), record["inputs"])
    assert used == record["inputs"]
    path = tmp_path / f"{record['model']}.onnx"
    onnx.save(fixed, str(path))
    predicted, failures = predictions(path, record["chip"], version_of(record))
    assert (predicted, failures) == (record["predicted"], record["predicted_failures"]), (
        f"placement changed: run tools/compare_placement.py --chip {record['chip']} --corpus --repredict "
        f"--models {record['model']} and explain the differences"
    )


def test_layers_count_for_the_node_they_were_made_from():
    graph = onnx.helper.make_graph(
        [
            onnx.helper.make_node("And", ["a", "b"], ["mask"], name="/bert/And_1"),
            onnx.helper.make_node("GatherND", ["mask", "i"], ["picked"], name="node_GatherND_47"),
            onnx.helper.make_node("LayerNormalization", ["picked", "s"], ["normed"], name="/ln/LayerNormalization"),
        ],
        "g",
        [],
        [],
    )
    model = onnx.helper.make_model(graph)
    layers = {
        ("Cast", "/bert/And_1_2fp_add_cast"): "/bert/And_1",  # the And rewritten, named after it
        ("exNorm", "/ln/LayerNormalization#1"): "/ln/LayerNormalization",  # rewritten once
        ("Reshape", "node_GatherND_47_2rs"): "node_GatherND_47",  # a node turned into a Reshape
        ("Reshape", "picked-rs"): None,  # a Reshape the toolkit wrapped around the tensor 'picked'
        ("Cast", "mask-rs_sw_cast"): "/bert/And_1",  # a layer named after a node's output tensor
    }
    for (layer, name), node in layers.items():
        assert attributed(layer, name, model)["node"] == node, name
