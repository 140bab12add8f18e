from conftest import codes, lint_text, rule

from onnxlint.core.engine import lint_file
from onnxlint.core.finding import Severity

DROPOUT = """<ir_version: 8, opset_import: ["" : 13]>
g (float[2, 8] x{extra_input}) => (float[2, 8] y) {{
    r = Constant <value = float {{0.25}}> ()
    {mode_node}
    y = Dropout(x, r, t)
}}"""


def test_fail_constant_training_mode_true(tmp_path):
    text = DROPOUT.format(extra_input="", mode_node="t = Constant <value = bool {1}> ()")
    [finding] = lint_text(tmp_path, text, "NM002").findings
    assert (finding.code, finding.location.node, finding.severity) == ("NM002", "Dropout_2", Severity.ERROR)
    assert finding.data == {"training_mode": True, "ratio": 0.25}


def test_pass_constant_training_mode_false(tmp_path):
    text = DROPOUT.format(extra_input="", mode_node="t = Constant <value = bool {0}> ()")
    assert codes(lint_text(tmp_path, text, "NM002")) == []


def test_warn_runtime_training_mode(tmp_path):
    text = DROPOUT.format(extra_input=", bool t", mode_node="")
    [finding] = lint_text(tmp_path, text, "NM002").findings
    assert finding.severity is Severity.WARNING and finding.location.tensor == "t"


def test_pass_dropout_without_training_input(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[2, 8] x) => (float[2, 8] y) { y = Dropout(x) }"""
    assert codes(lint_text(tmp_path, text, "NM002")) == []


def test_fail_real_training_export(fixture_path):
    report = lint_file(fixture_path("resnet_dropout_training.onnx"), [rule("NM002")])
    assert [(f.code, f.data["ratio"]) for f in report.findings] == [("NM002", 0.2)]
