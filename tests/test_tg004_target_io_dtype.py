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


READ_ONLY_BY = """<ir_version: 8, opset_import: ["" : 13]>
g (uint8[1, 3, 8, 8] images, uint8[1, 3, 8, 8] shift) => (uint8[1, 3, 8, 8] y) {{ y = {op}(images, shift) }}"""


def test_pass_uint8_input_read_only_by_cpu_kernels_that_take_it(tmp_path):
    """BitShift reads uint8 as it is on the CPU: the rk3588 build succeeds (agreement case test_bitshift_left_uint8)."""
    settings = LintSettings(target=resolve_target("rk3588", VERSION))
    text = READ_ONLY_BY.format(op='BitShift <direction = "LEFT">')
    assert codes(lint_text(tmp_path, text, "TG004", settings=settings)) == []


def test_fail_uint8_input_read_by_a_cpu_kernel_without_the_type(tmp_path):
    """The Bitwise operators run on the CPU of rk3588, yet their kernels have no uint8 form: the build aborts."""
    text = READ_ONLY_BY.format(op="BitwiseAnd").replace('"" : 13', '"" : 18')
    settings = LintSettings(target=resolve_target("rk3588", VERSION))
    assert [f.data["input"] for f in lint_text(tmp_path, text, "TG004", settings=settings).findings] == [
        "images",
        "shift",
    ]


@pytest.mark.parametrize(
    "dtype, words",
    [
        ("uint8", "prints 'E RKNN: Meet unsupported conv, input tensor name: images input type: 2'"),
        ("int8", "kills the process with SIGFPE and no error line"),
    ],
)
def test_fail_integer_input_to_the_npu_on_rv1106(tmp_path, dtype, words):
    settings = LintSettings(target=resolve_target("rv1106", VERSION))
    [finding] = lint_text(tmp_path, MODEL.format(dtype=dtype), "TG004", settings=settings).findings
    assert finding.data == {"input": "images", "dtype": dtype, "chip": "rv1106", "toolkit": "rknn-toolkit2 2.5.0"}
    assert words in finding.message


def test_pass_int32_input_on_rv1106(tmp_path):
    """Measured: the int32 input's Cast runs on the CPU and the int8 build succeeds."""
    settings = LintSettings(target=resolve_target("rv1106", VERSION))
    assert codes(lint_text(tmp_path, MODEL.format(dtype="int32"), "TG004", settings=settings)) == []


INTEGER_ONLY = """<ir_version: 8, opset_import: ["" : 13]>
g ({dtype}[1, 16] a, {dtype}[1, 16] b) => ({out}[1, 16] y) {{ y = {op}(a, b) }}"""


@pytest.mark.parametrize(
    "dtype, op, out", [("int64", "Max", "int64"), ("bool", "Xor", "bool"), ("int32", "Equal", "bool")]
)
def test_fail_integer_only_model_on_int8_chips(tmp_path, dtype, op, out):
    settings = LintSettings(target=resolve_target("rv1106", VERSION))
    text = INTEGER_ONLY.format(dtype=dtype, op=op, out=out)
    [finding] = lint_text(tmp_path, text, "TG004", settings=settings).findings
    assert finding.data["integer_only"] is True and finding.data["input"] == "a"
    assert "'E RKNN: Can not find quantize information!, try to change request type to float16'" in finding.message


def test_pass_integer_only_model_on_fp16_chips(tmp_path):
    settings = LintSettings(target=resolve_target("rk3588", VERSION))
    text = INTEGER_ONLY.format(dtype="int64", op="Max", out="int64")
    assert codes(lint_text(tmp_path, text, "TG004", settings=settings)) == []


@pytest.mark.parametrize(
    "text",
    [
        # A float output is enough for the calibration (agreement case test_pow_types_int32_float32 builds).
        """<ir_version: 8, opset_import: ["" : 13]>
        g (int64[1, 16] a, float[1, 16] b) => (float[1, 16] y) { c = Cast <to = 1> (a)  y = Add(c, b) }""",
        # A float tensor computed between integer ends counts too.
        """<ir_version: 8, opset_import: ["" : 13]>
        g (int64[1, 16] a) => (int64[1, 16] y) { c = Cast <to = 1> (a)  d = Relu(c)  y = Cast <to = 7> (d) }""",
        # The toolkit computes And in float (Cast, Mul, Cast layers): it builds on the rv1106 NPU (test_and2d).
        """<ir_version: 8, opset_import: ["" : 13]>
        g (bool[1, 16] a, bool[1, 16] b) => (bool[1, 16] y) { y = And(a, b) }""",
    ],
)
def test_pass_models_with_float_computation_on_int8_chips(tmp_path, text):
    settings = LintSettings(target=resolve_target("rv1106", VERSION))
    assert codes(lint_text(tmp_path, text, "TG004", settings=settings)) == []
