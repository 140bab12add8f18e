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


def test_pass_failure_only_data_propagation_sees(tmp_path):
    # onnx's data propagation treats the Unsqueeze'd [3, 1] as the flat values [0, 1, 2] and refuses to add them to
    # 4 values; the real tensors broadcast to [3, 4], strict inference without data propagation passes, and
    # onnxruntime loads and runs the model (the onnx-asr resampler in the corpus has this pattern).
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (int64[3, 4] y) <int64[3] a = {0, 1, 2}, int64[4] b = {0, 1, 2, 3}, int64[1] ax = {-1}> {
        u = Unsqueeze(a, ax)
        y = Add(u, b)
    }"""
    assert codes(lint_text(tmp_path, text, "OP004")) == []


def test_fail_contradiction_without_data_propagation(tmp_path):
    # The same pattern with operands that cannot broadcast: strict inference fails with or without data propagation.
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[N] x) => (int64[3, 4] y) <int64[3] a = {0, 1, 2}, int64[4] b = {0, 1, 2, 3}> {
        y = Add(a, b)
    }"""
    [finding] = lint_text(tmp_path, text, "OP004").findings
    assert "Incompatible dimensions" in finding.message
