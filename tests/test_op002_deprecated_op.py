from conftest import codes, lint_text

UPSAMPLE = """<ir_version: 8, opset_import: ["" : {opset}]>
g (float[1, 3, 4, 4] x) => (float[1, 3, 8, 8] y) {{
    s = Constant <value = float[4] {{1.0, 1.0, 2.0, 2.0}}> ()
    y = Upsample <mode = "nearest"> (x, s)
}}"""


def test_fail_upsample_at_opset_10(tmp_path):
    [finding] = lint_text(tmp_path, UPSAMPLE.format(opset=10), "OP002").findings
    assert (finding.code, finding.location.node) == ("OP002", "Upsample_1")
    assert finding.data == {"deprecated_since": 10, "model_opset": 10, "replacement": "Resize"}


def test_pass_resize_at_opset_13(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 3, 4, 4] x) => (float[1, 3, 8, 8] y) {
        s = Constant <value = float[4] {1.0, 1.0, 2.0, 2.0}> ()
        y = Resize <mode = "nearest"> (x, , s)
    }"""
    assert codes(lint_text(tmp_path, text, "OP002")) == []


def test_pass_upsample_before_its_deprecation(tmp_path):
    assert codes(lint_text(tmp_path, UPSAMPLE.format(opset=9), "OP002")) == []


def test_model_invalid_leaves_the_deprecated_operator_to_this_rule(tmp_path):
    report = lint_text(tmp_path, UPSAMPLE.format(opset=10), "OP002", "OP003")
    assert [(f.code, f.severity.value) for f in report.findings] == [("OP002", "error")]
