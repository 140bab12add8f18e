"""Real torch exports: healthy ones raise nothing, each defective one exactly its defect; rebuilds match."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import numpy as np
import onnx
import pytest
from conftest import FIXTURES

from onnxlint.checks import ALL_RULES
from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings
from onnxlint.rknn.knowledge import known_chips
from onnxlint.rknn.targets import resolve_target

HEALTHY = [
    "yolov5n_legacy_op12.onnx",
    "yolov5n_dynamo_op18.onnx",
    "yolov8n_legacy_op12.onnx",
    "yolov8n_dynamo_op18.onnx",
    "resnet_legacy_op13_dynbatch.onnx",
    "resnet_dynamo_op18_dynbatch.onnx",
    "lstm_if_legacy.onnx",
    "lstm_if_dynamo.onnx",
    # torch drops the typo'd dynamic_axes, so the file alone is a healthy static export
    "yolov5n_dynaxes_typo.onnx",
]

DEFECTIVE = {
    "yolov5n_dynamic_batch.onnx": ["IO002"],
    "yolov5n_dynamic_hw.onnx": ["IO002"],
    "yolov5n_dynamic_hw_cached_grid.onnx": ["IO007"],
    "yolov5n_training.onnx": ["NM001"],
    "yolov5n_norm_in_graph.onnx": ["LY002"],
    "yolov5n_unnamed.onnx": ["IO004"],
    "resnet_nhwc_input.onnx": ["LY001"],
    "resnet_dropout_training.onnx": ["NM001", "NM002"],
}


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_exports_raise_nothing(name):
    report = lint_file(FIXTURES / name, ALL_RULES)
    assert report.error is None
    assert [(f.code, f.message) for f in report.findings] == []


@pytest.mark.parametrize("target", known_chips())
@pytest.mark.parametrize("name", HEALTHY)
def test_on_an_npu_target_only_npu_specific_findings_are_added(name, target):
    # Healthy for onnxruntime. For an NPU a YOLO model should end at its head convolutions (HD001), a dynamic
    # batch needs its size given to the toolkit (TG002), and CPU fallbacks depend on the chip (TG003, whose
    # predictions tests/test_rknn_facts.py checks against real builds). The LSTM exports hold an If, which
    # rknn-toolkit2 refuses on every chip (also checked against a real build), and a comparison the small
    # chips' runtimes have no CPU kernel for.
    report = lint_file(FIXTURES / name, ALL_RULES, LintSettings(target=resolve_target(target, "2.5.0")))
    found = {f.code for f in report.findings}
    assert found <= {"HD001", "TG002", "TG003", "TG005", "TG008", "QT001"}
    # a YOLO head that decodes boxes joins its 0-1 scores with boxes in pixels: one int8 tensor (QT001)
    assert "QT001" not in found or "HD001" in found
    # rv1106/rv1103's int8 build fails on an LSTM with an initial state (TG008's rv-lstm-initial-state)
    assert ("TG008" in found) == (name.startswith("lstm_if") and target in ("rv1106", "rv1103"))
    assert ("HD001" in found) == name.startswith("yolov")
    assert ("TG002" in found) == ("dynbatch" in name)
    expected = set()
    if name.startswith("lstm_if"):
        expected.add("If")
        if target in ("rv1106", "rv1103", "rk2118"):
            expected.add("Greater")  # no CPU kernel for comparisons on these runtimes
        # (the legacy export's Cast before the If is bool to bool: the toolkit removes it, placement leaves it out)
    assert {f.location.op_type for f in report.findings if f.code == "TG005"} == expected


@pytest.mark.parametrize("name", sorted(DEFECTIVE))
def test_defective_exports_raise_exactly_their_defect(name):
    report = lint_file(FIXTURES / name, ALL_RULES)
    assert sorted(f.code for f in report.findings) == DEFECTIVE[name]


def test_every_fixture_is_classified():
    assert {p.name for p in FIXTURES.glob("*.onnx")} == set(HEALTHY) | set(DEFECTIVE)


@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("torch", "onnxscript", "onnxruntime")),
    reason="rebuilding fixtures needs torch and onnxscript (pip install -e '.[fixtures]')",
)
def test_fixtures_match_a_rebuild(tmp_path):
    import torch

    if not torch.__version__.startswith("2.13."):
        pytest.skip(f"fixtures were exported with torch 2.13; torch {torch.__version__} writes other bytes")
    result = subprocess.run(
        [sys.executable, str(FIXTURES / "build_fixtures.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Float arithmetic at export (BatchNorm calibration, the exporter's constant folding) rounds differently on
    # different CPUs, by an ulp or so: the graphs must be identical, the weights equal to float32 precision.
    for committed in sorted(FIXTURES.glob("*.onnx")):
        assert _without_weights(committed) == _without_weights(tmp_path / committed.name), (
            f"{committed.name}: the rebuilt graph differs"
        )
        for expected, actual in zip(_weights(committed), _weights(tmp_path / committed.name)):
            np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-7, err_msg=committed.name)
    measured = re.compile(r"max abs diff [0-9.e+-]+")  # what onnxruntime vs torch measured on this CPU
    assert measured.sub("", (tmp_path / "MANIFEST.md").read_text()) == measured.sub(
        "", (FIXTURES / "MANIFEST.md").read_text()
    )


def _weights(path):
    return [onnx.numpy_helper.to_array(tensor) for tensor in onnx.load(str(path)).graph.initializer]


def _without_weights(path) -> bytes:
    model = onnx.load(str(path))
    for tensor in model.graph.initializer:
        for field in ("raw_data", "float_data", "int64_data", "int32_data", "double_data"):
            tensor.ClearField(field)
    return model.SerializeToString()
