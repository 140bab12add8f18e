from conftest import codes, lint_text, rule

from onnxlint.engine import lint_file

RESHAPE = """<ir_version: 8, opset_import: ["" : 17]>
g (float[1, 12] x) => (float[{declared}] y) {{
    s = Constant <value = int64[3] {{1, 3, 4}}> ()
    y = Reshape(x, s)
}}"""


def test_fail_fixed_dim_declared_symbolic(tmp_path):
    [finding] = lint_text(tmp_path, RESHAPE.format(declared="1, anchors, 4"), "IO002").findings
    assert (finding.code, finding.location.tensor) == ("IO002", "y")
    assert finding.data == {"declared": [1, "anchors", 4], "fixed": [1, 3, 4], "axes": [1]}
    assert "axis 1 'anchors' is always 3" in finding.message


def test_pass_fixed_dims_declared_fixed(tmp_path):
    assert codes(lint_text(tmp_path, RESHAPE.format(declared="1, 3, 4"), "IO002")) == []


def test_fail_needs_data_propagation(tmp_path):
    # The target shape is computed from Shape(x): only data-propagating inference proves it constant.
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[2, 6] x) => (float[n, 3] y) {
        shp = Shape(x)
        i0 = Constant <value = int64[1] {0}> ()
        b = Gather(shp, i0)
        m = Constant <value = int64[1] {-1}> ()
        three = Constant <value = int64[1] {3}> ()
        two = Constant <value = int64[1] {2}> ()
        rows = Mul(b, two)
        target = Concat <axis = 0> (rows, three)
        y = Reshape(x, target)
    }"""
    [finding] = lint_text(tmp_path, text, "IO002").findings
    assert finding.data["fixed"] == [4, 3]


def test_fail_real_legacy_export_with_dynamic_batch(fixture_path):
    # torch's TorchScript exporter gives up on the Detect head's shapes and invents output dim names;
    # under concrete batch sizes (opset-12 shape arithmetic folded) the boxes and 5 + nc are constant.
    report = lint_file(fixture_path("yolov5n_dynamic_batch.onnx"), [rule("IO002")])
    [finding] = report.findings
    assert finding.data == {"declared": ["batch", "Concatoutput0_dim_1", "Concatoutput0_dim_2"],
                            "fixed": ["batch", 1575, 85], "axes": [1, 2]}


def test_pass_real_dynamo_export_with_dynamic_batch(fixture_path):
    assert codes(lint_file(fixture_path("resnet_dynamo_op18_dynbatch.onnx"), [rule("IO002")])) == []
