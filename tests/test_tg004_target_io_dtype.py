import pytest
from conftest import codes, lint_text

from onnxlint.core.registry import LintSettings
from onnxlint.rknn.targets import resolve_target

VERSION = "2.5.0"
MODEL = """<ir_version: 8, opset_import: ["" : 13]>
g ({dtype}[1, 3, 8, 8] images) => (float[1, 3, 8, 8] y) {{ y = Cast <to = 1> (images) }}"""


@pytest.mark.parametrize(
    "chip, message",
    [
        ("rk3588", "E RKNN: Not Support Dtype: 2. please check precision!"),
        ("rk3576", "E RKNN: Conv Meet unsupported conv, input tensor name: images input type: 2"),
    ],
)
def test_fail_uint8_input(tmp_path, chip, message):
    settings = LintSettings(target=resolve_target(chip, VERSION))
    [finding] = lint_text(tmp_path, MODEL.format(dtype="uint8"), "TG004", settings=settings).findings
    assert finding.data == {"input": "images", "dtype": "uint8", "chip": chip, "toolkit": "rknn-toolkit2 2.5.0"}
    assert f"'{message}'" in finding.message


@pytest.mark.parametrize("dtype", ["float", "int64", "bool"])  # float16 builds too, converted (below)
def test_pass_input_types_that_build(tmp_path, dtype):
    settings = LintSettings(target=resolve_target("rk3588", VERSION))
    assert codes(lint_text(tmp_path, MODEL.format(dtype=dtype), "TG004", settings=settings)) == []


def test_no_claim_for_chips_not_measured(tmp_path):
    settings = LintSettings(target=resolve_target("rk3566", VERSION))
    assert codes(lint_text(tmp_path, MODEL.format(dtype="uint8"), "TG004", settings=settings)) == []


@pytest.mark.parametrize("chip", ["rk3588", "rv1106"])
def test_fail_input_type_the_toolkit_refuses_on_every_chip(tmp_path, chip):
    settings = LintSettings(target=resolve_target(chip, VERSION))
    [finding] = lint_text(tmp_path, MODEL.format(dtype="uint16"), "TG004", settings=settings).findings
    assert finding.severity.value == "error"
    assert finding.data == {"input": "images", "dtype": "uint16", "toolkit": "rknn-toolkit2 2.5.0"}
    assert "'E build: Not support input data type 'uint16'!'" in finding.message


def test_refused_type_only_on_the_ports_measured(tmp_path):
    """uint16 is refused as an input; as an output of a float model it was not measured, so nothing is claimed."""
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 3, 8, 8] x) => (uint16[1, 3, 8, 8] y) { y = Cast <to = 4> (x) }"""
    settings = LintSettings(target=resolve_target("rk3588", VERSION))
    assert codes(lint_text(tmp_path, text, "TG004", settings=settings)) == []


def test_float16_io_is_converted_to_float32(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float16[1, 3, 8, 8] x) => (float16[1, 3, 8, 8] y) { y = Relu(x) }"""
    findings = lint_text(
        tmp_path, text, "TG004", settings=LintSettings(target=resolve_target("rk3588", VERSION))
    ).findings
    assert [(f.location.tensor, f.severity.value, f.data["converted_to"]) for f in findings] == [
        ("x", "info", "float32"),
        ("y", "info", "float32"),
    ]
    assert "modified to float32!" in findings[0].message


def test_float64_input_data_is_then_refused(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (double[1, 3, 8, 8] x) => (float[1, 3, 8, 8] y) { y = Cast <to = 1> (x) }"""
    [finding] = lint_text(
        tmp_path, text, "TG004", settings=LintSettings(target=resolve_target("rk3588", VERSION))
    ).findings
    assert finding.severity.value == "warning"
    assert "'E inference: Unsupport inputs[0].dtype: float64'" in finding.message
