import pytest
from conftest import FIXTURES, codes, lint_proto, lint_text

from onnxlint.core.registry import LintSettings
from onnxlint.rknn.targets import known_versions, resolve_target

TARGET = LintSettings(target=resolve_target("rk3588", known_versions()[-1]))

HEAD = """<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 4, 10] box, float[1, 3, 10] logits) => (float[1, 7, 10] out) <float[1] c = {{{c}}}> {{
    wide = {wide_op}(box, c)
    narrow = {narrow_op}(logits)
    out = Concat<axis = 1>(wide, narrow)
}}"""


def test_fail_scores_joined_with_boxes_in_pixels(tmp_path):
    [finding] = lint_text(
        tmp_path, HEAD.format(c="32.0", wide_op="Mul", narrow_op="Sigmoid"), "QT001", settings=TARGET
    ).findings
    assert (finding.code, finding.location.node) == ("QT001", "Concat_2")
    assert finding.data["narrow_input"] == "narrow" and finding.data["narrow_range"] == [0.0, 1.0]
    assert (finding.data["wide_input"], finding.data["scaled_by"]) == ("wide", "Mul_0")


def test_fail_range_the_graph_fixes(tmp_path):
    # Clip(0, 640) is a range the graph fixes: 640 wide against Softmax's 1
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 4, 10] box, float[1, 3, 10] logits) => (float[1, 7, 10] out) <float lo = {0.0}, float hi = {640.0}> {
        wide = Clip(box, lo, hi)
        narrow = Softmax<axis = 1>(logits)
        out = Concat<axis = 1>(wide, narrow)
    }"""
    [finding] = lint_text(tmp_path, text, "QT001", settings=TARGET).findings
    assert finding.data["wide_span"] == 640.0 and "about 0 of 256 levels" in finding.message


@pytest.mark.parametrize(
    "c, wide_op, narrow_op",
    [
        ("2.0", "Mul", "Sigmoid"),  # a small factor: not pixels
        ("32.0", "Mul", "Relu"),  # Relu bounds nothing above
        ("32.0", "Add", "Sigmoid"),  # an offset alone says nothing about the scale
    ],
)
def test_pass_no_wide_or_no_narrow(tmp_path, c, wide_op, narrow_op):
    assert (
        codes(lint_text(tmp_path, HEAD.format(c=c, wide_op=wide_op, narrow_op=narrow_op), "QT001", settings=TARGET))
        == []
    )


def test_skipped_without_target(tmp_path):
    report = lint_text(tmp_path, HEAD.format(c="32.0", wide_op="Mul", narrow_op="Sigmoid"), "QT001")
    assert codes(report) == [] and [s.code for s in report.rules_skipped] == ["QT001"]


def test_pass_healthy_fixtures(tmp_path):
    import onnx

    for name in ("resnet_legacy_op13_dynbatch.onnx", "yolov5n_training.onnx", "lstm_if_legacy.onnx"):
        assert codes(lint_proto(tmp_path, onnx.load(str(FIXTURES / name)), "QT001", settings=TARGET)) == []


def test_fail_yolov8_decoded_output(tmp_path):
    import onnx

    report = lint_proto(tmp_path, onnx.load(str(FIXTURES / "yolov8n_legacy_op12.onnx")), "QT001", settings=TARGET)
    assert [(f.location.node, f.data["narrow_input"]) for f in report.findings] == [
        ("/detect/Concat_7", "/detect/Sigmoid_output_0")
    ]


# A detection head in miniature: the same join at three levels, boxes scaled by the level's stride.
LEVELS = """<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 4, 10] box, float[1, 3, 10] logits) => (float[1, 7, 10] p8, float[1, 7, 10] p16, float[1, 7, 10] p32,
                                                 float[1, 7, 10] clipped)
  <float[1] s8 = {8.0}, float[1] s16 = {16.0}, float[1] s32 = {32.0}, float lo = {0.0}, float hi = {640.0}> {
    scores = Sigmoid(logits)
    b8 = Mul(box, s8)
    p8 = Concat<axis = 1>(b8, scores)
    b16 = Mul(box, s16)
    p16 = Concat<axis = 1>(b16, scores)
    b32 = Mul(box, s32)
    p32 = Concat<axis = 1>(b32, scores)
    wide = Clip(box, lo, hi)
    clipped = Concat<axis = 1>(wide, scores)
}"""


def test_fail_one_finding_per_cause_with_every_concat(tmp_path):
    # The three stride-scaled joins are one cause, reported once at the first with the others related; the join
    # with a range the graph bounds is another cause.
    scaled, clipped = lint_text(tmp_path, LEVELS, "QT001", settings=TARGET).findings
    assert scaled.location.node == "Concat_2" and [r.node for r in scaled.related] == ["Concat_4", "Concat_6"]
    assert scaled.data["count"] == 3 and scaled.data["places"] == ["Concat_2", "Concat_4", "Concat_6"]
    assert [c["scaled_by"] for c in scaled.data["concats"]] == ["Mul_1", "Mul_3", "Mul_5"]
    assert "and 2 more like it (Concat_4, Concat_6)" in scaled.message
    assert "a constant multiplies by 8, 16 or 32" in scaled.message
    assert (clipped.location.node, clipped.related, clipped.data["wide_span"]) == ("Concat_8", (), 640.0)
    assert "count" not in clipped.data and "Concat Concat_8 joins 'scores' in [0, 1]" in clipped.message
