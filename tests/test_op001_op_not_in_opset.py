from conftest import codes, lint_text

HARDSWISH = """<ir_version: 8, opset_import: ["" : {opset}]>
g (float[1, 16, 8, 8] x) => (float[1, 16, 8, 8] y) {{ y = HardSwish(x) }}"""


def test_fail_hardswish_under_opset_11(tmp_path):
    report = lint_text(tmp_path, HARDSWISH.format(opset=11), "OP001")
    [finding] = report.findings
    assert (finding.code, finding.location.node, finding.location.op_type) == ("OP001", "HardSwish_0", "HardSwish")
    assert finding.data == {"domain": "ai.onnx", "model_opset": 11, "since_version": 14}
    assert "opset >= 14" in finding.message


def test_pass_hardswish_under_opset_14(tmp_path):
    assert codes(lint_text(tmp_path, HARDSWISH.format(opset=14), "OP001")) == []


def test_fail_unknown_operator_in_default_domain(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y) { y = HardSwishh(x) }"""
    [finding] = lint_text(tmp_path, text, "OP001").findings
    assert finding.data["since_version"] is None
    assert "at any opset" in finding.message


def test_fail_inside_if_branch_names_the_subgraph(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 11]>
    g (bool c, float[4] x) => (float[4] y) {
        y = If(c) <then_branch = t () => (float[4] a) { a = HardSwish(x) },
                   else_branch = e () => (float[4] b) { b = Relu(x) }>
    }"""
    [finding] = lint_text(tmp_path, text, "OP001").findings
    assert finding.location.graph == "main/If_0.then_branch"
    assert finding.location.node == "HardSwish_0"


def test_custom_domains_are_not_judged(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 11, "com.example" : 1]>
    g (float[4] x) => (float[4] y) { y = com.example.Whatever(x) }"""
    assert codes(lint_text(tmp_path, text, "OP001")) == []
