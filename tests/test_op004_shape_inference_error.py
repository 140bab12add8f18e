from conftest import codes, lint_text


def test_fail_contradicting_value_info(tmp_path):
    # The file claims the Relu output has 5 elements while its input has 4.
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] z) <float[5] r> { r = Relu(x)  z = Identity(r) }"""
    report = lint_text(tmp_path, text, "OP004")
    [finding] = report.findings
    assert finding.code == "OP004"
    assert "inference_message" in finding.data


def test_pass_consistent_model(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] z) <float[4] r> { r = Relu(x)  z = Identity(r) }"""
    assert codes(lint_text(tmp_path, text, "OP004")) == []


def test_skipped_when_checker_fails(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y) { y = Add(x, nowhere) }"""
    report = lint_text(tmp_path, text, "OP004")
    assert report.findings == ()
    assert [s.code for s in report.rules_skipped] == ["OP004"]
