from conftest import codes, lint_text, rule

from onnxlint.core.engine import lint_file

BN = """<ir_version: 8, opset_import: ["" : 15]>
g (float[2, 3, 4, 4] x) => (float[2, 3, 4, 4] y) <float[3] s = {{1.0, 1.0, 1.0}}, float[3] b = {{0.0, 0.0, 0.0}},
    float[3] m = {{0.1, 0.2, 0.3}}, float[3] v = {{0.9, 1.1, 1.2}}> {{
    y{outputs} = BatchNormalization <training_mode = {mode}> (x, s, b, m, v)
}}"""


def test_fail_training_mode_attribute(tmp_path):
    [finding] = lint_text(tmp_path, BN.format(mode=1, outputs=", rm, rv"), "NM001").findings
    assert (finding.code, finding.location.node) == ("NM001", "BatchNormalization_0")
    assert finding.data == {"count": 1, "reason": "training_mode=1", "nodes": ["BatchNormalization_0"]}


def test_pass_inference_mode(tmp_path):
    assert codes(lint_text(tmp_path, BN.format(mode=0, outputs=""), "NM001")) == []


def test_fail_opset_9_running_stat_outputs(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 9]>
    g (float[2, 3] x, float[3] s, float[3] b, float[3] m, float[3] v) => (float[2, 3] y) {
        y, rm, rv, sm, sv = BatchNormalization(x, s, b, m, v)
    }"""
    [finding] = lint_text(tmp_path, text, "NM001").findings
    assert finding.data["reason"] == "4 running-statistics outputs"


def test_one_finding_stands_for_every_node_of_a_real_training_export(fixture_path):
    report = lint_file(fixture_path("yolov5n_training.onnx"), [rule("NM001")])
    [finding] = report.findings
    assert finding.data["count"] == len(finding.related) + 1 > 10
    assert finding.data["reason"] == "training_mode=1"


def test_pass_real_eval_exports(fixture_path):
    for name in ("yolov5n_legacy_op12.onnx", "yolov5n_dynamo_op18.onnx", "resnet_dynamo_op18_dynbatch.onnx"):
        assert codes(lint_file(fixture_path(name), [rule("NM001")])) == [], name
