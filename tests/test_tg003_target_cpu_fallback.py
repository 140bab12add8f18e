import onnx
import pytest
from conftest import FIXTURES, codes, lint_text, parse, rule

from onnxlint.core.engine import lint_file
from onnxlint.core.registry import LintSettings
from onnxlint.rknn.log import layer_table, strip_ansi
from onnxlint.rknn.targets import resolve_target
from onnxlint.rknn.toolkit import build, toolkit_python

VERSION = "2.5.0"


def _on(chip):
    return LintSettings(target=resolve_target(chip, VERSION))


def test_fail_reshape_and_transpose_on_rk3568(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 4, 8, 8] x) => (float[1, 8, 4, 4] y) <int64[4] s = {1, 4, 4, 16}> {
        r = Reshape(x, s)
        t = Transpose <perm = [0, 3, 1, 2]> (r)
        y = Relu(t)
    }"""
    report = lint_text(tmp_path, text, "TG003", settings=_on("rk3568"))
    assert [(f.data["op_type"], f.data["nodes"], f.data["cpu_islands"]) for f in report.findings] == [
        ("Reshape", ["Reshape_0"], 1),
        ("Transpose", ["Transpose_1"], 1),
    ]


def test_pass_same_model_on_rk3588(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 4, 8, 8] x) => (float[1, 8, 4, 4] y) <int64[4] s = {1, 4, 4, 16}> {
        r = Reshape(x, s)
        y = Transpose <perm = [0, 3, 1, 2]> (r)
    }"""
    assert codes(lint_text(tmp_path, text, "TG003", settings=_on("rk3588"))) == []


def test_constant_subgraphs_are_folded_not_reported(tmp_path):
    # Shape arithmetic on static shapes is folded by the toolkit before it places anything.
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 4, 8, 8] x) => (float[1, 4, 8, 8] y) {
        shp = Shape(x)
        y = Reshape(x, shp)
    }"""
    report = lint_text(tmp_path, text, "TG003", settings=_on("rk3568"))
    assert [f.data["nodes"] for f in report.findings] == [["Reshape_1"]]


def test_pass_shape_arithmetic_behind_dynamic_input_dims_is_folded(tmp_path):
    # The toolkit fixes the input sizes (TG002) before it folds: the Cast and Equal on the shape of a dynamic
    # input are constants by then (dynamic YOLOv8/YOLOv5 exports compute their grids this way).
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 4, H, W] x) => (float[1, 4, H, W] y) <int64 two = {2}, int64 zero = {0}> {
        shp = Shape(x)
        h = Gather(shp, two)
        nonzero = Equal(h, zero)
        hf = Cast <to = 1> (h)
        y = Div(x, hf)
    }"""
    assert codes(lint_text(tmp_path, text, "TG003", settings=_on("rk3588"))) == []


def test_fail_size_that_depends_on_the_data_is_not_folded(tmp_path):
    # NonZero's output size depends on the values, not on the input sizes: the arithmetic on it stays.
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 4, H, W] x) => (float[1] y) <int64 one = {1}> {
        nz = NonZero(x)
        shp = Shape(nz)
        n = Gather(shp, one)
        y = Cast <to = 1> (n)
    }"""
    report = lint_text(tmp_path, text, "TG003", settings=_on("rk3588"))
    assert [(f.data["op_type"], f.data["nodes"]) for f in report.findings] == [("Cast", ["Cast_3"])]


def test_pass_a_cast_between_float_types(tmp_path):
    # load_onnx rewrites float16 and float64 to float32, so a Cast between float types is a Cast to the input's own
    # type, and it removes that (agreement cases test_cast_FLOAT_to_FLOAT16, test_cast_DOUBLE_to_FLOAT: no layer).
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 4, 8, 8] x) => (float16[1, 4, 8, 8] y) { y = Cast <to = 10> (x) }"""
    assert codes(lint_text(tmp_path, text, "TG003", settings=_on("rk3588"))) == []


def test_fail_cast_on_the_data_path_of_a_dynamic_model(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 4, H, W] x) => (int32[1, 4, H, W] y) {
        shp = Shape(x)
        r = Reshape(x, shp)
        y = Cast <to = 6> (r)
    }"""
    report = lint_text(tmp_path, text, "TG003", settings=_on("rk3588"))
    assert [(f.data["op_type"], f.data["nodes"]) for f in report.findings] == [("Cast", ["Cast_2"])]


def test_real_yolov5_export_matches_the_toolkit_build():
    # rknn-toolkit2 2.5.0 builds this fixture for rk3568 with 6 Reshape and 3 Transpose layers on the CPU
    # (tests/test_rknn_facts.py checks that against the real toolkit); for rk3588 with none of the model's own.
    report = lint_file(FIXTURES / "yolov5n_legacy_op12.onnx", [rule("TG003")], _on("rk3568"))
    assert {f.data["op_type"]: len(f.data["nodes"]) for f in report.findings} == {"Reshape": 6, "Transpose": 3}
    assert codes(lint_file(FIXTURES / "yolov5n_legacy_op12.onnx", [rule("TG003")], _on("rk3588"))) == []


def test_skipped_without_target(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[4] x) => (float[4] y) { y = Relu(x) }"""
    assert [s.code for s in lint_text(tmp_path, text, "TG003").rules_skipped] == ["TG003"]


IDENTITY_CASTS = """<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 4, 8, 8] x) => (float[1, 4, 8, 8] y, int32[1, 4, 8, 8] n) <float half = {0.5}, float zero = {0.0}> {
    same = Cast <to = 1> (x)
    ge = GreaterOrEqual(same, half)
    flag = Cast <to = 9> (ge)
    y = Where(flag, same, zero)
    n = Cast <to = 6> (x)
}"""


def test_pass_a_cast_to_the_type_its_input_has(tmp_path):
    # rknn-toolkit2's load_onnx removes a Cast to its input's own type (remove_invalid_cast, measured on rk3588 and
    # rv1106 for float and bool: test_identity_cast_is_removed_by_the_toolkit); the float to int32 Cast stays.
    for chip in ("rk3588", "rv1106"):
        report = lint_text(tmp_path, IDENTITY_CASTS, "TG003", settings=_on(chip))
        cast_nodes = [f.data["nodes"] for f in report.findings if f.data["op_type"] == "Cast"]
        assert cast_nodes == [["Cast_4"]], chip


@pytest.mark.rknn
@pytest.mark.skipif(toolkit_python() is None, reason="rknn-toolkit2 is not installed (or set ONNXLINT_RKNN_PYTHON)")
def test_identity_cast_is_removed_by_the_toolkit(tmp_path):
    """The measurement behind identity_cast: a verbose rk3588 build of Conv -> Cast(to float) -> Relu and of
    GreaterOrEqual -> Cast(to bool) -> Where has no Cast layer, and the log names both Casts as removed."""
    text = (
        """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 3, 8, 8] x) => (float[1, 4, 8, 8] y, float[1, 4, 8, 8] z)
      <float[4, 3, 1, 1] w = {"""
        + ", ".join(["0.25"] * 12)
        + """}, float half = {0.5}, float zero = {0.0}> {
        c = Conv(x, w)
        same = Cast <to = 1> (c)
        y = Relu(same)
        ge = GreaterOrEqual(c, half)
        flag = Cast <to = 9> (ge)
        z = Where(flag, c, zero)
    }"""
    )
    path = tmp_path / "identity_casts.onnx"
    onnx.save(parse(text), str(path))
    result = build(path, "rk3588", verbose=True)
    assert result.failed_stage is None, result.error_lines()
    assert "Cast" not in result.cpu_layers and "GreaterOrEqual" in result.cpu_layers
    assert "Cast" not in [layer.op_type for layer in layer_table(result.log)]
    # The toolkit names the unnamed nodes after their outputs.
    assert "remove_invalid_cast: remove node = ['same', 'flag']" in strip_ansi(result.log)


# GELU written out with Erf, as torch's legacy exporter and paddle2onnx write it, (a * (1 + erf(a / sqrt2))) * 0.5,
# and as the dynamo exporter writes it, b * (0.5 * (1 + erf(b / sqrt2))); then a lone Erf.
GELUS = """<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 16, 64] a, float[1, 16, 64] b, float[1, 16, 64] c) => (float[1, 16, 64] y, float[1, 16, 64] z,
                                                                 float[1, 16, 64] e)
  <float sqrt2 = {1.4142135}, float one = {1.0}, float half = {0.5}> {
    ad = Div(a, sqrt2)
    ae = Erf(ad)
    ap = Add(ae, one)
    am = Mul(a, ap)
    y = Mul(am, half)
    bd = Div(b, sqrt2)
    be = Erf(bd)
    bp = Add(be, one)
    bh = Mul(half, bp)
    z = Mul(b, bh)
    e = Erf(c)
}"""


def test_pass_gelu_written_with_erf_is_fused(tmp_path):
    # rknn-toolkit2 fuses both forms into one Gelu on the NPU (replace_torch_gelu; test_gelu_is_fused_by_the_toolkit):
    # only the lone Erf is reported.
    report = lint_text(tmp_path, GELUS, "TG003", settings=_on("rk3588"))
    assert [(f.data["op_type"], f.data["nodes"]) for f in report.findings] == [("Erf", ["Erf_10"])]


@pytest.mark.rknn
@pytest.mark.skipif(toolkit_python() is None, reason="rknn-toolkit2 is not installed (or set ONNXLINT_RKNN_PYTHON)")
@pytest.mark.parametrize("chip", ["rk3588", "rv1106"])
def test_gelu_is_fused_by_the_toolkit(tmp_path, chip):
    """The measurement behind fused_gelus: MatMul -> GELU (x * (1 + erf) * 0.5) -> MatMul -> GELU (x * (0.5 *
    (1 + erf))) builds as two ConvExGelu layers on the NPU, with no Erf layer and nothing on the CPU."""
    weights = ", ".join(["0.01"] * 64 * 64)
    text = f"""<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 16, 64] x) => (float[1, 16, 64] y)
      <float[64, 64] w1 = {{{weights}}}, float[64, 64] w2 = {{{weights}}}, float sqrt2 = {{1.4142135}},
       float one = {{1.0}}, float half = {{0.5}}> {{
        a = MatMul(x, w1)
        ad = Div(a, sqrt2)
        ae = Erf(ad)
        ap = Add(ae, one)
        am = Mul(a, ap)
        g1 = Mul(am, half)
        b = MatMul(g1, w2)
        bd = Div(b, sqrt2)
        be = Erf(bd)
        bp = Add(be, one)
        bh = Mul(half, bp)
        y = Mul(b, bh)
    }}"""
    path = tmp_path / "gelus.onnx"
    onnx.save(parse(text), str(path))
    result = build(path, chip, verbose=True)
    assert result.failed_stage is None, result.error_lines()
    layers = [(layer.op_type, layer.target) for layer in layer_table(result.log)]
    assert [layer for layer in layers if "Gelu" in layer[0] or "Erf" in layer[0]] == [("ConvExGelu", "NPU")] * 2
    assert result.cpu_layers == {}
