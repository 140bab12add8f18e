"""TG008: the build-failure knowledge base against its fixtures (each failing model and its near miss)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import FIXTURES, codes, rule

from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings
from onnxlint.rknn.buildfail import build_failures
from onnxlint.rknn.knowledge import known_chips
from onnxlint.rknn.targets import resolve_target

VERSION = "2.5.0"
FAILURES = build_failures("2.5.0")


def _lint(path, chip="rk3588"):
    return lint_file(path, [rule("TG008")], LintSettings(target=resolve_target(chip, VERSION)))


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: f.id)
def test_each_entry_fires_on_its_fixture_and_not_on_its_near_miss(failure):
    chip = (failure.chips or ("rk3588",))[0]
    [finding] = [f for f in _lint(FIXTURES / failure.fixture, chip).findings if f.data["failure"] == failure.id]
    assert finding.data["toolkit_message"] == failure.message.replace("<node>", finding.location.node)
    assert failure.id not in [f.data["failure"] for f in _lint(FIXTURES / failure.near_miss, chip).findings]


def test_entries_verified_on_some_chips_only_claim_nothing_elsewhere():
    assert codes(_lint(FIXTURES / "toolkit" / "lstm_without_bias.onnx", "rk3576")) == []
    assert codes(_lint(FIXTURES / "toolkit" / "lstm_bias_and_initial_state.onnx", "rk3588")) == []


def test_the_fix_is_a_ready_to_paste_config_line():
    [finding] = _lint(FIXTURES / "toolkit" / "dfl_split.onnx", chip="rv1106").findings
    assert (
        finding.data["rknn_config"] == "rknn.config(target_platform='rv1106', disable_rules=['seperate_conv_rs_split'])"
    )
    assert finding.fix.startswith(finding.data["rknn_config"])
    assert finding.data["nodes"][0] == "/model.22/dfl/conv/Conv"


@pytest.mark.parametrize(
    "name",
    [
        "yolov5n_legacy_op12.onnx",
        "yolov5n_dynamo_op18.onnx",
        "yolov8n_legacy_op12.onnx",
        "yolov8n_dynamo_op18.onnx",
        "resnet_legacy_op13_dynbatch.onnx",
        "lstm_if_legacy.onnx",
        "lstm_if_dynamo.onnx",
    ],
)
@pytest.mark.parametrize("chip", known_chips())
def test_models_that_build_are_not_flagged(name, chip):
    # The toolkit builds the YOLOv5 and miniature YOLOv8 fixtures (their DFL starts from a flat tensor); the
    # LSTM fixtures fail only at their If, which TG005 reports, except on rv1106/rv1103, where their LSTM's
    # initial state fails the int8 build.
    expected = ["TG008"] if name.startswith("lstm_if") and chip in ("rv1106", "rv1103") else []
    assert codes(_lint(FIXTURES / name, chip)) == expected


@pytest.mark.parametrize(
    "name, failure",
    [("yolov5n_training.onnx", "bn-training-mode"), ("resnet_dropout_training.onnx", "bn-running-stats-outputs")],
)
def test_training_mode_exports_carry_the_toolkit_refusal(name, failure):
    findings = _lint(FIXTURES / name).findings
    assert {f.data["failure"] for f in findings} == {failure}


def test_skipped_without_target(tmp_path):
    report = lint_file(FIXTURES / "toolkit" / "dfl_split.onnx", [rule("TG008")])
    assert [s.code for s in report.rules_skipped] == ["TG008"]


def test_fixtures_match_their_generator(tmp_path):
    result = subprocess.run(
        [sys.executable, str(FIXTURES / "build_toolkit_fixtures.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for committed in sorted((FIXTURES / "toolkit").glob("*.onnx")):
        assert (tmp_path / committed.name).read_bytes() == committed.read_bytes(), committed.name
