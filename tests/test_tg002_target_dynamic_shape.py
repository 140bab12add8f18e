from conftest import FIXTURES, codes, lint_text, rule

from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings
from onnxlint.rknn.targets import resolve_target

RK3588 = LintSettings(target=resolve_target("rk3588", "2.5.0"))
MODEL = """<ir_version: 8, opset_import: ["" : 13]>
g (float[{dims}] images) => (float[{dims}] y) {{ y = Relu(images) }}"""


def test_fail_dynamic_batch_and_size(tmp_path):
    [finding] = lint_text(tmp_path, MODEL.format(dims="batch, 3, h, w"), "TG002", settings=RK3588).findings
    assert finding.data["suggested_sizes"] == [[1, 3, "?", "?"]]
    assert "input_size_list=[[1, 3, '?', '?']]" in finding.fix
    assert "'ValueError: The input shape ['batch', 3, 'h', 'w'] of 'images' is not support!'" in finding.message


def test_pass_static_input(tmp_path):
    assert codes(lint_text(tmp_path, MODEL.format(dims="1, 3, 8, 8"), "TG002", settings=RK3588)) == []


def test_fail_real_dynamic_batch_export_with_the_size_to_use():
    report = lint_file(FIXTURES / "yolov5n_dynamic_batch.onnx", [rule("TG002")], RK3588)
    [finding] = report.findings
    assert finding.data["suggested_sizes"] == [[1, 3, 160, 160]]
