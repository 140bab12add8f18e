import onnx
import pytest
from conftest import FIXTURES, codes, lint_proto, lint_text

from onnxlint.core.registry import LintSettings
from onnxlint.rknn.targets import known_versions, resolve_target

TARGET = LintSettings(target=resolve_target("rk3588", known_versions()[-1]))


def depthwise(peaks, bn_scale=None, group=None, bias=None, bias_form="conv"):
    """A depthwise Conv with one weight per channel, optionally followed by a BatchNormalization of the given
    scales; `bias` goes in as the Conv's bias (bias_form "conv"), the BatchNormalization's beta, or the Add of a
    [1, C, 1, 1] constant after the Conv ("add", as paddle2onnx writes a bias)."""
    channels = len(peaks)
    numbers = lambda values: ", ".join(str(float(v)) for v in values)  # noqa: E731
    weights = numbers(peaks)
    constants, conv_inputs = "", "x, w"
    if bias is not None and bias_form == "conv":
        constants += f", float[{channels}] cb = {{{numbers(bias)}}}"
        conv_inputs += ", cb"
    if bias is not None and bias_form == "add":
        constants += f", float[1, {channels}, 1, 1] ab = {{{numbers(bias)}}}"
    conv = f"Conv<group = {group or channels}>({conv_inputs})"
    if bn_scale is not None:
        beta = bias if bias is not None and bias_form == "beta" else [0.0] * channels
        constants += (
            f", float[{channels}] s = {{{numbers(bn_scale)}}}, float[{channels}] b = {{{numbers(beta)}}}, "
            f"float[{channels}] m = {{{numbers([0.0] * channels)}}}, "
            f"float[{channels}] v = {{{numbers([1.0] * channels)}}}"
        )
        body = f"c = {conv}\n y = BatchNormalization<epsilon = 0.0>(c, s, b, m, v)"
    elif bias is not None and bias_form == "add":
        body = f"c = {conv}\n y = Add(c, ab)"
    else:
        body = f"y = {conv}"
    return f"""<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, {channels}, 4, 4] x) => (float[1, {channels}, 4, 4] y)
    <float[{channels}, 1, 1, 1] w = {{{weights}}}{constants}> {{
        {body}
    }}"""


def test_fail_narrow_channels(tmp_path):
    [finding] = lint_text(tmp_path, depthwise([0.001] * 3 + [1.0] * 17), "QT002", settings=TARGET).findings
    assert (finding.code, finding.location.node) == ("QT002", "Conv_0")
    assert finding.data["ratio"] == 1000.0 and finding.data["crushed_channels"] == 3
    assert finding.data["folded"] is None and "quantized_method='layer'" in finding.message


def test_fail_after_folding_batchnorm(tmp_path):
    # equal kernels, but the BatchNorm scales three channels down by 500
    text = depthwise([1.0] * 20, bn_scale=[0.002] * 3 + [1.0] * 17)
    [finding] = lint_text(tmp_path, text, "QT002", settings=TARGET).findings
    assert finding.data["folded"] == "BatchNormalization_1" and finding.data["ratio"] == pytest.approx(500.0)


@pytest.mark.parametrize(
    "peaks",
    [
        [0.05] * 3 + [1.0] * 17,  # 20x: fine
        [0.0] * 3 + [1.0] * 17,  # dead channels lose nothing
        [1e-9] * 3 + [1.0] * 17,  # nearly dead too
        [0.001] * 2 + [1.0] * 3,  # too few channels to judge by a tenth
    ],
)
def test_pass(tmp_path, peaks):
    assert codes(lint_text(tmp_path, depthwise(peaks), "QT002", settings=TARGET)) == []


def test_pass_grouped_not_depthwise(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 20, 4, 4] x) => (float[1, 10, 4, 4] y) <float[10, 2, 1, 1] w = {0.001, 0.001, 0.001, 0.001, 1.0,
      1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0}> {
        y = Conv<group = 10>(x, w)
    }"""
    assert codes(lint_text(tmp_path, text, "QT002", settings=TARGET)) == []


def test_pass_fixtures(tmp_path):
    for name in ("yolov8n_legacy_op12.onnx", "resnet_legacy_op13_dynbatch.onnx"):
        assert codes(lint_proto(tmp_path, onnx.load(str(FIXTURES / name)), "QT002", settings=TARGET)) == []


# Three channels with weights 1e-4 of the widest, below half a step of a per-layer int8 scale (1/254). With a bias
# near zero as well they add nothing at the precision the layer keeps: dead, as a BatchNormalization whose gamma and
# beta decayed to zero leaves them (PP-OCRv6's text detector). With a bias like the others' they are live and narrow.
NEGLIGIBLE = [1e-4] * 3 + [1.0] * 17


@pytest.mark.parametrize("bias_form", ["conv", "add", "beta"])
def test_pass_channels_with_negligible_weights_and_bias_are_dead(tmp_path, bias_form):
    bias = [1e-4] * 3 + [0.5] * 17
    text = (
        depthwise([1.0] * 20, bn_scale=NEGLIGIBLE, bias=bias, bias_form="beta")
        if bias_form == "beta"
        else depthwise(NEGLIGIBLE, bias=bias, bias_form=bias_form)
    )
    assert codes(lint_text(tmp_path, text, "QT002", settings=TARGET)) == []


@pytest.mark.parametrize("bias_form", ["conv", "add", "beta"])
def test_fail_channels_with_negligible_weights_and_a_bias_are_live(tmp_path, bias_form):
    bias = [0.5] * 20
    text = (
        depthwise([1.0] * 20, bn_scale=NEGLIGIBLE, bias=bias, bias_form="beta")
        if bias_form == "beta"
        else depthwise(NEGLIGIBLE, bias=bias, bias_form=bias_form)
    )
    [finding] = lint_text(tmp_path, text, "QT002", settings=TARGET).findings
    assert finding.data["crushed_channels"] == 3 and finding.data["ratio"] == pytest.approx(10000.0)


def test_fail_without_any_bias_narrow_channels_stay_live(tmp_path):
    # No bias anywhere: nothing tells a dead channel from a narrow one, so only weights of zero or nearly are dead.
    [finding] = lint_text(tmp_path, depthwise(NEGLIGIBLE), "QT002", settings=TARGET).findings
    assert finding.data["crushed_channels"] == 3
