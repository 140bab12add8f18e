from conftest import codes, lint_text


def test_fail_undefined_input(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y) { y = Add(x, nowhere) }"""
    [finding] = lint_text(tmp_path, text, "OP003").findings
    assert finding.code == "OP003"
    assert "nowhere" in finding.data["checker_message"]
    assert finding.message.startswith("onnx.checker rejects the model: ")


def test_pass_valid_model(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y) { y = Relu(x) }"""
    assert codes(lint_text(tmp_path, text, "OP003")) == []


def test_missing_operator_is_left_to_op_not_in_opset(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 11]>
    g (float[4] x) => (float[4] y) { y = HardSwish(x) }"""
    assert codes(lint_text(tmp_path, text, "OP001", "OP003")) == ["OP001"]
