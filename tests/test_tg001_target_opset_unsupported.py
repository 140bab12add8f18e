import pytest
from conftest import codes, lint_text

from onnxlint.core.registry import LintSettings
from onnxlint.rknn.targets import resolve_target

RK3588 = LintSettings(target=resolve_target("rk3588", "2.5.0"))
RELU = """<ir_version: 8, opset_import: ["" : {opset}]>
g (float[1, 3, 8, 8] x) => (float[1, 3, 8, 8] y) {{ y = Relu(x) }}"""


@pytest.mark.parametrize("opset", [20, 21])
def test_fail_opset_above_19(tmp_path, opset):
    [finding] = lint_text(tmp_path, RELU.format(opset=opset), "TG001", settings=RK3588).findings
    assert finding.data == {"model_opset": opset, "max_opset": 19, "toolkit": "rknn-toolkit2 2.5.0"}
    assert f"'ValueError: Unsupport onnx opset {opset}, need <= 19!'" in finding.message


@pytest.mark.parametrize("opset", [7, 13, 19])
def test_pass_opset_the_toolkit_loads(tmp_path, opset):
    assert codes(lint_text(tmp_path, RELU.format(opset=opset), "TG001", settings=RK3588)) == []


def test_skipped_without_target(tmp_path):
    report = lint_text(tmp_path, RELU.format(opset=21), "TG001")
    assert [(s.code, s.reason) for s in report.rules_skipped] == [("TG001", "no --target given")]
