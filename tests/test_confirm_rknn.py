"""--confirm with the real rknn-toolkit2: the build's verdict on target findings, and the head cut in its
simulator."""

from __future__ import annotations

import json

import onnx
import pytest
from conftest import FIXTURES, parse

from onnxlint.checks.tg003_target_cpu_fallback import TargetCpuFallback
from onnxlint.cli import main
from onnxlint.confirm.runner import ConfirmOptions, ModelRun
from onnxlint.core.finding import Finding, Location, Severity
from onnxlint.core.registry import LintSettings
from onnxlint.rknn.targets import resolve_target
from onnxlint.rknn.toolkit import toolkit_python

pytestmark = [
    pytest.mark.rknn,
    pytest.mark.skipif(toolkit_python() is None, reason="rknn-toolkit2 is not installed (or set ONNXLINT_RKNN_PYTHON)"),
]


def _findings(capsys, *args):
    code = main([str(a) for a in args] + ["--confirm", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["results"][0]["findings"]


def test_cpu_fallback_confirmed_by_the_layer_table(capsys):
    _code, findings = _findings(
        capsys, FIXTURES / "yolov5n_legacy_op12.onnx", "--target", "rk3568", "--select", "TG003"
    )
    assert {f["data"]["op_type"]: f["evidence"]["verdict"] for f in findings} == {
        "Reshape": "confirmed",
        "Transpose": "confirmed",
    }
    assert "CPU layers: Reshape x6, Transpose x3" in findings[0]["evidence"]["detail"]


def test_unsupported_op_confirmed_by_the_failing_build(capsys):
    _code, [finding] = _findings(capsys, FIXTURES / "lstm_if_legacy.onnx", "--target", "rk3588", "--select", "TG005")
    assert finding["evidence"]["verdict"] == "confirmed"
    assert "The If('/gate/If') will cause the graph to be a dynamic graph!" in finding["evidence"]["detail"]


def test_mean_values_refusal_confirmed(capsys):
    _code, findings = _findings(
        capsys, FIXTURES / "resnet_nhwc_input.onnx", "--target", "rk3588", "--select", "TG007", "--mean", "0,0,0"
    )
    assert [f["evidence"]["verdict"] for f in findings] == ["confirmed"]
    assert "expect 64" in findings[0]["evidence"]["detail"]


def test_a_false_cpu_claim_is_refuted(tmp_path):
    path = tmp_path / "relu.onnx"
    onnx.save(
        parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[1, 8, 16, 16] x) => (float[1, 8, 16, 16] y) { y = Relu(x) }"""),
        str(path),
    )
    settings = LintSettings(target=resolve_target("rk3588"))
    claim = Finding(
        code="TG003",
        rule="target-cpu-fallback",
        severity=Severity.WARNING,
        message="m",
        location=Location(node="Relu_0", op_type="Relu"),
        data={"op_type": "Relu"},
    )
    evidence = TargetCpuFallback.confirmer.confirm(ModelRun(str(path), settings, ConfirmOptions()), claim)
    assert evidence.verdict == "refuted" and "CPU layers: none" in evidence.detail


def test_head_cut_checked_in_the_simulator(capsys):
    _code, [finding] = _findings(
        capsys, FIXTURES / "yolov5n_legacy_op12.onnx", "--target", "rk3588", "--select", "HD001"
    )
    evidence = finding["evidence"]
    assert evidence["verdict"] == "confirmed" and "simulator" in evidence["backend"]
    assert evidence["metrics"]["cosine"] >= 0.999
