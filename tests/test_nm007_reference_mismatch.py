"""NM007: the model's outputs against the reference the user saved from the framework."""

import json

import numpy as np
import pytest
from conftest import FIXTURES, codes, lint_text

from onnxlint.cli import main
from onnxlint.confirm.runner import ConfirmOptions
from onnxlint.core.registry import LintSettings

RELU = """<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 4] x) => (float[1, 4] y) { y = Relu(x) }"""
X = np.array([[1.0, -2.0, 3.0, -4.0]], np.float32)


def _settings(reference):
    return LintSettings(run=ConfirmOptions(inputs={"x": X}, reference=reference))


def test_fail_when_the_reference_differs(tmp_path):
    [finding] = lint_text(
        tmp_path, RELU, "NM007", settings=_settings({"y": np.array([[1, 0, 3, 4]], np.float32)})
    ).findings
    assert finding.severity.value == "error" and finding.data["max_abs"] == 4.0
    assert finding.data["mismatch_ratio"] == 0.25 and finding.evidence.verdict == "confirmed"


def test_pass_with_the_right_reference(tmp_path):
    assert codes(lint_text(tmp_path, RELU, "NM007", settings=_settings({"y": np.maximum(X, 0)}))) == []


def test_missing_output_in_the_reference(tmp_path):
    [finding] = lint_text(tmp_path, RELU, "NM007", settings=_settings({"z": X})).findings
    assert finding.severity.value == "info" and "no array for outputs ['y']" in finding.message


def test_skipped_without_reference(tmp_path):
    report = lint_text(tmp_path, RELU, "NM007", settings=LintSettings(run=ConfirmOptions()))
    assert [s.reason for s in report.rules_skipped] == ["no --reference outputs given"]


def test_seed_000_workflow_on_the_command_line(tmp_path, capsys):
    """Inputs and reference outputs saved as .npz, as from PyTorch; the reference here is onnxruntime's own
    output on the fixture, perturbed in one output for the failing run."""
    import onnxruntime

    model = FIXTURES / "yolov5n_legacy_op12.onnx"
    images = np.random.default_rng(3).random((1, 3, 160, 160), dtype=np.float32)
    [output] = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(
        None, {"images": images}
    )
    np.savez(tmp_path / "inputs.npz", images=images)
    np.savez(tmp_path / "good.npz", output0=output)
    np.savez(tmp_path / "bad.npz", output0=output * 1.01)
    args = [str(model), "--confirm", "--select", "NM007", "--inputs", str(tmp_path / "inputs.npz"), "--format", "json"]
    assert main([*args, "--reference", str(tmp_path / "good.npz")]) == 0
    capsys.readouterr()
    assert main([*args, "--reference", str(tmp_path / "bad.npz")]) == 1
    [finding] = json.loads(capsys.readouterr().out)["results"][0]["findings"]
    assert finding["location"]["tensor"] == "output0" and finding["data"]["cosine"] > 0.999


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--reference", "x.npz"], "--inputs and --reference need --confirm"),
        (["--confirm", "--reference", "missing.npz"], "--reference: cannot read 'missing.npz'"),
    ],
)
def test_usage_errors(capsys, args, fragment):
    assert main([str(FIXTURES / "yolov5n_legacy_op12.onnx"), *args]) == 2
    assert fragment in capsys.readouterr().err
