"""The ranges rknn-toolkit2 clips to the inputs where a saturating activation reading the tensor still changes
(figures from the .quantization.cfg that rknn-toolkit2 2.5.0's hybrid_quantization_step1 writes)."""

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from onnxlint.quant.analyze import _feeding_layers, analyze
from onnxlint.quant.calibrate import float_tensors
from onnxlint.quant.layers import find_layers
from onnxlint.quant.saturation import clip_ranges, useful_ranges


def model(nodes, outputs, initializers, shape=(1, 3, 8, 8)) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "saturation",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)


def weights(name, out_channels, scale, seed):
    values = np.random.default_rng(seed).normal(0, scale, (out_channels, 3, 1, 1)).astype(np.float32)
    return numpy_helper.from_array(values, name)


def activations() -> onnx.ModelProto:
    """Convs each read by one activation, one also read by an Add, one through a Reshape."""
    nodes, initializers, outputs = [], [], []
    activation_list: list[tuple[str, dict[str, Any]]] = [
        ("HardSigmoid", {"alpha": 0.1, "beta": 0.3}),
        ("HardSigmoid", {}),
        ("Sigmoid", {}),
        ("Tanh", {}),
        ("HardSwish", {}),
        ("LeakyRelu", {"alpha": 0.1}),
    ]
    for index, (op, attributes) in enumerate(activation_list):
        initializers.append(weights(f"w{index}", 4, 10.0, index))
        nodes.append(helper.make_node("Conv", ["x", f"w{index}"], [f"conv{index}"], name=f"conv{index}"))
        nodes.append(helper.make_node(op, [f"conv{index}"], [f"act{index}"], **attributes))
        outputs.append(f"act{index}")
    initializers.append(weights("w_shared", 4, 10.0, 9))
    nodes.append(helper.make_node("Conv", ["x", "w_shared"], ["shared"], name="shared"))
    nodes.append(helper.make_node("Sigmoid", ["shared"], ["shared_sigmoid"]))
    nodes.append(helper.make_node("Add", ["shared", "shared"], ["shared_twice"]))
    initializers.append(weights("w_flat", 4, 10.0, 10))
    initializers.append(numpy_helper.from_array(np.array([1, -1], np.int64), "flat"))
    nodes.append(helper.make_node("Conv", ["x", "w_flat"], ["before_reshape"], name="before_reshape"))
    nodes.append(helper.make_node("Reshape", ["before_reshape", "flat"], ["reshaped"]))
    nodes.append(helper.make_node("Sigmoid", ["reshaped"], ["reshaped_sigmoid"]))
    outputs += ["shared_sigmoid", "shared_twice", "reshaped_sigmoid"]
    return model(nodes, outputs, initializers)


def yolov8_head() -> onnx.ModelProto:
    """YOLOv8's head: box and class convolutions concatenated per level, reshaped, concatenated, split into the
    box part (to a Softmax) and the class part (to a Sigmoid)."""
    initializers = [
        weights("w_box", 4, 10.0, 1),
        weights("w_cls", 2, 10.0, 2),
        numpy_helper.from_array(np.array([1, 6, -1], np.int64), "flat"),
        numpy_helper.from_array(np.array([4, 2], np.int64), "parts"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w_box"], ["box"], name="box"),
        helper.make_node("Conv", ["x", "w_cls"], ["cls"], name="cls"),
        helper.make_node("Concat", ["box", "cls"], ["level"], axis=1),
        helper.make_node("Shape", ["level"], ["level_shape"]),
        helper.make_node("Reshape", ["level", "flat"], ["level_flat"]),
        helper.make_node("Concat", ["level_flat", "level_flat"], ["levels"], axis=2),
        helper.make_node("Split", ["levels", "parts"], ["box_part", "cls_part"], axis=1),
        helper.make_node("Softmax", ["box_part"], ["box_softmax"], axis=1),
        helper.make_node("Sigmoid", ["cls_part"], ["scores"]),
    ]
    return model(nodes, ["box_softmax", "scores"], initializers)


def sample(m):
    return {"x": np.random.default_rng(0).normal(0, 1, (1, 3, 8, 8)).astype(np.float32)}


def clipped_readers(m):
    floats = float_tensors(m, sample(m))
    layers = find_layers(m, floats, quantize_inputs=False)
    return layers, {layers[k].tensor: found for k, found in useful_ranges(m, layers, floats).items()}


def test_a_tensor_every_reader_of_which_saturates_is_clipped_to_where_it_does_not():
    _, found = clipped_readers(activations())
    (low, high), op = found["conv0"]  # -beta/alpha, (1-beta)/alpha
    assert (round(low, 5), round(high, 5), op) == (-3.0, 7.0, "HardSigmoid")
    assert found["conv1"] == ((-2.5, 2.5), "HardSigmoid")  # ONNX defaults alpha 0.2, beta 0.5
    assert found["conv2"] == ((-7.0, 7.0), "Sigmoid")
    assert found["conv3"] == ((-3.2, 3.2), "Tanh")
    assert found["conv4"] == ((-3.0, np.inf), "HardSwish")
    assert found["before_reshape"] == ((-7.0, 7.0), "Sigmoid")  # through a Reshape
    assert "conv5" not in found  # LeakyRelu does not saturate
    assert "shared" not in found  # also read by an Add: the toolkit keeps its range


def test_only_the_part_of_a_concat_that_a_split_sends_to_the_sigmoid():
    m = yolov8_head()
    layers, found = clipped_readers(m)
    assert found == {"cls": ((-7.0, 7.0), "Sigmoid")}  # not the box Conv, not the Concats that hold both
    # The ranges the toolkit writes for YOLOv8n: [-26.6, -0.41] -> [-7, -0.41] (zero is added when quantizing);
    # the Concat of box [-5, 14] and class logits takes the hull of the clipped inputs.
    index = {layer.tensor: layer.index for layer in layers}
    observed = [(-1.0, 1.0)] * len(layers)
    observed[index["box"]] = (-5.0, 14.0)
    observed[index["cls"]] = (-26.6, -0.41)
    observed[index["level"]] = (-26.6, 14.0)
    floats = float_tensors(m, sample(m))
    useful = useful_ranges(m, layers, floats)
    concats = {layer.index for layer in layers if layer.op_type == "Concat"}
    clipped = clip_ranges(layers, observed, useful, _feeding_layers(m, layers), concats)
    assert clipped[index["cls"]] == (-7.0, -0.41)
    assert clipped[index["box"]] == (-5.0, 14.0)
    assert clipped[index["level"]] == (-7.0, 14.0)


def test_the_analysis_quantizes_the_clipped_range_and_says_why(tmp_path):
    path = tmp_path / "activations.onnx"
    onnx.save(activations(), str(path))
    report = analyze(path, "rk3588", top=1000).to_dict()
    by_tensor = {layer["tensor"]: layer for layer in report["layers"]}
    hard_sigmoid, shared = by_tensor["conv1"], by_tensor["shared"]
    assert hard_sigmoid["range"]["min"] < -2.5 and hard_sigmoid["range"]["max"] > 2.5  # observed, not clipped
    # [-2.5, 2.5] on the int8 grid (the zero point is an integer)
    assert "quantized over [-2.51, 2.49]" in hard_sigmoid["reason"] and "HardSigmoid" in hard_sigmoid["reason"]
    # its own int8 values are not its float values beyond the bounds (accuracy_analysis's "single" drops) ...
    assert hard_sigmoid["predicted_single_cosine"] < 0.99
    # ... while the model loses nothing from them, and a tensor also read by an Add keeps its range
    assert hard_sigmoid["predicted_output_cosine"] > 0.999
    assert "quantized over" not in shared["reason"] and shared["predicted_single_cosine"] > 0.999
