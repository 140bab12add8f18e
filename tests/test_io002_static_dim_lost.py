from conftest import codes, lint_text, rule

from onnxlint.core.engine import lint_file

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
    assert finding.data == {
        "declared": ["batch", "Concatoutput0_dim_1", "Concatoutput0_dim_2"],
        "fixed": ["batch", 1575, 85],
        "axes": [1, 2],
    }


def test_pass_real_dynamo_export_with_dynamic_batch(fixture_path):
    assert codes(lint_file(fixture_path("resnet_dynamo_op18_dynbatch.onnx"), [rule("IO002")])) == []


def _stft_front_end():
    """An audio front end as openWakeWord's melspectrogram.onnx has it: a 512-sample window every 160 samples as a
    Conv1d on [batch, samples]. Below 512 samples no frame fits and inference says 0 frames."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    window = numpy_helper.from_array(np.ones((8, 1, 512), np.float32), "window")
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    nodes = [
        helper.make_node("Unsqueeze", ["input", "axes"], ["channel"]),
        helper.make_node("Conv", ["channel", "window"], ["frames"], kernel_shape=[512], strides=[160]),
        helper.make_node("Transpose", ["frames"], ["output"], perm=[0, 2, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "stft",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch_size", "samples"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch_size", "Transposeoutput_dim_1", 8])],
        [window, axes],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def test_pass_frames_of_a_window_larger_than_the_first_probe(tmp_path):
    """Issue 13: the probe ran at sizes too small for the window, saw 0 frames twice, and called axis 1 fixed at 0.
    onnxruntime gives 97 frames at 16000 samples and 5 at 1280: the probe now grows its sizes until frames come out."""
    from conftest import lint_proto

    assert codes(lint_proto(tmp_path, _stft_front_end(), "IO002")) == []


def test_probe_grows_until_the_window_fits(tmp_path):
    from onnxlint.analysis.probe import probe_dims
    from onnxlint.core.model import load_model

    path = tmp_path / "stft.onnx"
    import onnx

    onnx.save(_stft_front_end(), str(path))
    probe = probe_dims(load_model(path))
    assert probe.fixed_value("output", 1) is None and probe.fixed_value("output", 2) == 8
    for run in probe.distinct:  # each conclusive: frames > 0, and the frame count of its own sample count
        samples = run.given[("input", 1)]
        assert not run.too_small and samples >= 512
        assert run.outputs["output"][1] == (samples - 512) // 160 + 1
