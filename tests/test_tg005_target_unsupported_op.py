import pytest
from conftest import FIXTURES, codes, lint_text, rule

from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings
from onnxlint.rknn.targets import resolve_target

VERSION = "2.5.0"


def _on(chip):
    return LintSettings(target=resolve_target(chip, VERSION))


def test_fail_refused_operator_quotes_the_toolkit(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 16] scores) => (int64[2, n] keep) { keep = NonZero(scores) }"""
    [finding] = lint_text(tmp_path, text, "TG005", settings=_on("rk3588")).findings
    assert finding.data["outcome"] == "unsupported" and finding.data["probe_case"] == "NonZero"
    # The probe's node name is replaced by the model's, as the user's build will print it.
    assert "The input 0 of NonZero('NonZero_0') need to be constant!" in finding.message
    assert finding.data["missing_cpu_kernels"] == []


@pytest.mark.parametrize("chip", ["rv1106", "rv1103", "rk2118"])
def test_fail_cpu_layer_the_chip_runtime_lacks(tmp_path, chip):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 16, 8, 8] x, float[1, 16, 8, 8] t) => (bool[1, 16, 8, 8] y) { y = Greater(x, t) }"""
    [finding] = lint_text(tmp_path, text, "TG005", settings=_on(chip)).findings
    assert finding.data["outcome"] == "cpu" and finding.data["missing_cpu_kernels"] == ["Greater"]
    assert "rknn_init fails on the board" in finding.message


def test_pass_cpu_layer_the_chip_runtime_has(tmp_path):
    # rv1106's runtime has an Exp CPU kernel: a CPU fallback (TG003), not a failure.
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 16, 8, 8] x) => (float[1, 16, 8, 8] y) { y = Exp(x) }"""
    report = lint_text(tmp_path, text, "TG005", "TG003", settings=_on("rv1106"))
    assert codes(report) == ["TG003"]


def test_pass_same_comparison_on_rk3588_is_only_a_fallback(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 16, 8, 8] x, float[1, 16, 8, 8] t) => (bool[1, 16, 8, 8] y) { y = Greater(x, t) }"""
    assert codes(lint_text(tmp_path, text, "TG005", "TG003", settings=_on("rk3588"))) == ["TG003"]


def test_pass_folded_node_is_not_reported(tmp_path):
    # NonZero of a constant is computed before compiling, as the toolkit's message itself says.
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 4] x) => (float[1, 4] y) <float[4] c = {0, 1, 0, 1}> {
        idx = NonZero(c)
        y = Relu(x)
    }"""
    assert codes(lint_text(tmp_path, text, "TG005", settings=_on("rk3588"))) == []


def test_custom_operators_count_as_unsupported(tmp_path):
    # The build keeps Scan as a custom operator the application must implement (rknn_register_custom_ops).
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[4] init, float[3, 4] xs) => (float[4] last, float[3, 4] ys) {
        last, ys = Scan <num_scan_inputs = 1, body = body (float[4] s, float[4] x) => (float[4] s2, float[4] y) {
            s2 = Add(s, x)
            y = Identity(s2)
        }> (init, xs)
    }"""
    [finding] = lint_text(tmp_path, text, "TG005", settings=_on("rk3588")).findings
    assert "custom operator" in finding.message


@pytest.mark.parametrize("name", ["lstm_if_legacy.onnx", "lstm_if_dynamo.onnx"])
def test_real_exports_with_if(name):
    # rknn-toolkit2 2.5.0 refuses both at build() (tests/test_rknn_facts.py checks it with the toolkit).
    report = lint_file(FIXTURES / name, [rule("TG005")], _on("rk3588"))
    assert [f.data["op_type"] for f in report.findings] == ["If"]


def test_healthy_fixture_builds(fixture_path):
    for chip in ("rk3588", "rv1106"):
        assert codes(lint_file(fixture_path("yolov5n_legacy_op12.onnx"), [rule("TG005")], _on(chip))) == []


def test_skipped_without_target(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[4] x) => (float[4] y) { y = Relu(x) }"""
    assert [s.code for s in lint_text(tmp_path, text, "TG005").rules_skipped] == ["TG005"]
