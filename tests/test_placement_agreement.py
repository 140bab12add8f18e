"""onnxlint's placement against rknn-toolkit2's builds of one-op models the probes were not written from (onnx's
backend node tests), as tools/placement_agreement.py recorded them: today's predictions must agree with the
recorded builds exactly as often as the README says, and every disagreement must carry its explanation."""

import re
from pathlib import Path

import pytest

from onnxlint.rknn.agreement import REFUSED, agreement, case_model, load_results, toolkit_outcome
from onnxlint.rknn.knowledge import family
from onnxlint.rknn.placement import CPU, NPU

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "tests" / "corpus" / "agreement-rknn-toolkit2-2.5.0.json"
README = ROOT / "README.md"
# A row of the README's agreement table: | rk3588 | 700 | 600 (85.7 %) | 690 (98.6 %) |
README_ROW = re.compile(
    r"^\| (?P<chip>\w+) \| (?P<cases>\d+) \| (?P<before>\d+) \([\d.]+ %\) \| (?P<now>\d+) \([\d.]+ %\) \|$"
)


@pytest.fixture(scope="module")
def results():
    return load_results(RESULTS)


@pytest.fixture(scope="module")
def measured(results):
    return agreement(results)


def readme_rows() -> dict[str, re.Match]:
    section = README.read_text("utf-8").split("### Agreement with the toolkit on independent models", 1)[1]
    section = section.split("\n## ", 1)[0]
    return {match["chip"]: match for line in section.splitlines() if (match := README_ROW.match(line))}


def test_readme_states_the_agreement_of_every_recorded_chip(measured):
    rows = readme_rows()
    assert set(rows) == set(measured), "one README row per chip built"
    for chip, tally in measured.items():
        assert int(rows[chip]["cases"]) == tally.total, chip
        assert int(rows[chip]["now"]) == tally.agree, (chip, [vars(d) for d in tally.disagreements][:20])
        assert int(rows[chip]["before"]) <= tally.agree, "the fixes only raised agreement"


def test_every_disagreement_is_explained(results, measured):
    causes = results["causes"]
    unexplained = [
        (chip, d.case, d.toolkit, d.predicted)
        for chip, t in measured.items()
        for d in t.disagreements
        if d.cause not in causes
    ]
    assert unexplained == []


def test_every_explanation_is_of_a_disagreement_today(results, measured):
    """An explanation left behind by a fix would hide the next disagreement of that case."""
    disagreeing = {(chip, d.case) for chip, tally in measured.items() for d in tally.disagreements}
    explained = {(chip, case) for chip, cases in results["explanations"].items() for case in cases}
    assert explained - disagreeing == set()
    assert set(results["causes"]) == {cause for cases in results["explanations"].values() for cause in cases.values()}


def test_each_case_is_the_one_op_model_it_names(results):
    for name, case in results["cases"].items():
        model = case_model(case)
        assert [node.op_type for node in model.graph.node] == [case["op"]], name
        assert case["toolkit"], f"{name} was never built"


def test_toolkit_outcome_reads_the_layer_table():
    wrapped = {"outcome": "cpu", "layers": [["Reshape", "INT8", "CPU"], ["MatMul", "INT8", "NPU"]]}
    assert toolkit_outcome("MatMul", wrapped) == NPU  # only the layout layers around the op left the NPU
    assert toolkit_outcome("Reshape", wrapped) == CPU
    assert toolkit_outcome("Exp", {"outcome": "error", "layers": []}) == REFUSED


def test_the_refused_element_types_cite_recorded_refusals(results):
    """io_dtype_refusals cites agreement cases as its measurement: each is recorded, and refused on every chip."""
    for dtype, refusal in family(results["toolkit_version"])["io_dtype_refusals"].items():
        for name in refusal["cases"]:
            case = results["cases"][name]
            assert dtype in case["form"], (dtype, name)
            outcomes = {chip: toolkit_outcome(case["op"], verdict) for chip, verdict in case["toolkit"].items()}
            assert set(outcomes.values()) == {REFUSED}, (dtype, name, outcomes)


def test_the_integer_model_abort_cites_recorded_aborts(results):
    """integer_model_abort cites agreement cases as its measurement: each is an integer-only model whose int8 build
    printed the message and died, on every recorded chip the fact names."""
    fact = family(results["toolkit_version"])["integer_model_abort"]
    for name in fact["cases"]:
        case = results["cases"][name]
        built = {chip: verdict for chip, verdict in case["toolkit"].items() if chip in fact["chips"]}
        assert built, name
        for chip, verdict in built.items():
            assert verdict["outcome"] == "error" and fact["message"] in verdict["messages"], (name, chip)
