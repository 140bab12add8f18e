"""Real torch exports: healthy ones raise nothing, each defective one exactly its defect; rebuilds match."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from conftest import FIXTURES

from onnxlint.checks import ALL_RULES
from onnxlint.cli import TARGETS
from onnxlint.engine import lint_file
from onnxlint.registry import LintSettings
from onnxlint.targets import load_facts

HEALTHY = ["yolov5n_legacy_op12.onnx", "yolov5n_dynamo_op18.onnx", "yolov8n_legacy_op12.onnx", "yolov8n_dynamo_op18.onnx", "resnet_legacy_op13_dynbatch.onnx",
           "resnet_dynamo_op18_dynbatch.onnx", "lstm_if_legacy.onnx", "lstm_if_dynamo.onnx",
           # torch drops the typo'd dynamic_axes, so the file alone is a healthy static export
           "yolov5n_dynaxes_typo.onnx"]

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


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", HEALTHY)
def test_on_an_npu_target_only_npu_specific_findings_are_added(name, target):
    # Healthy for onnxruntime. For an NPU a YOLO model should end at its head convolutions (HD001), a dynamic
    # batch needs its size given to the toolkit (TG002), and CPU fallbacks depend on the chip (TG003, whose
    # predictions tests/test_rknn_facts.py checks against real builds).
    report = lint_file(FIXTURES / name, ALL_RULES, LintSettings(target=target, toolkit=load_facts("2.5.0")))
    found = {f.code for f in report.findings}
    assert found <= {"HD001", "TG002", "TG003"}
    assert ("HD001" in found) == name.startswith("yolov")
    assert ("TG002" in found) == ("dynbatch" in name)


@pytest.mark.parametrize("name", sorted(DEFECTIVE))
def test_defective_exports_raise_exactly_their_defect(name):
    report = lint_file(FIXTURES / name, ALL_RULES)
    assert sorted(f.code for f in report.findings) == DEFECTIVE[name]


def test_every_fixture_is_classified():
    assert {p.name for p in FIXTURES.glob("*.onnx")} == set(HEALTHY) | set(DEFECTIVE)


@pytest.mark.skipif(not all(importlib.util.find_spec(m) for m in ("torch", "onnxscript", "onnxruntime")),
                    reason="rebuilding fixtures needs torch and onnxscript (pip install -e '.[fixtures]')")
def test_fixtures_match_a_rebuild(tmp_path):
    import torch

    if not torch.__version__.startswith("2.13."):
        pytest.skip(f"fixtures were exported with torch 2.13; torch {torch.__version__} writes other bytes")
    result = subprocess.run([sys.executable, str(FIXTURES / "build_fixtures.py"), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    for committed in sorted(FIXTURES.glob("*.onnx")) + [FIXTURES / "MANIFEST.md"]:
        rebuilt = tmp_path / committed.name
        assert rebuilt.read_bytes() == committed.read_bytes(), f"{committed.name} differs from a rebuild"
