"""Reading accuracy_analysis's error_analysis.txt (rows as rknn-toolkit2 2.5.0 writes them), and the layer names of
the .quantization.cfg that hybrid_quantization_step1 writes."""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from onnxlint.quant.calibrate import float_tensors
from onnxlint.quant.layers import find_layers
from onnxlint.quant.toolkit import cfg_layers, key_candidates, output_cosines, read_error_analysis, toolkit_key

# The head of the .quantization.cfg rknn-toolkit2 2.5.0's hybrid_quantization_step1 wrote for PP-OCRv4 rec (rk3588).
CFG = Path(__file__).parent / "data" / "quant" / "ppocrv4_rec.quantization.cfg"

REPORT = """layer_name                                                 simulator_error
                                                       entire              single
                                                    cos      euc        cos      euc
------------------------------------------------------------------------------------------
[Input] x                                         1.00000 | 0.00000   1.00000 | 0.00000
[Conv] batch_norm_0.tmp_2
[HardSwish] hardswish_0.tmp_0                     0.99994 | 1.91915   0.99994 | 1.91915
[ConvTranspose] p2o.ConvTranspose.3         0.99040 | 2263.508300.99995 | 184.65898
[Sigmoid] sigmoid_0.tmp_0_int8               q_zero |  q_zero    q_zero |  q_zero
[exDataConvert] sigmoid_0.tmp_0              q_zero |  q_zero    q_zero |  q_zero
\x1b[1;33m[Relu] relu_11.tmp_0                              0.99844 | 0.19964   \x1b[1;33m0.99869\x1b[0m | 0.18725
"""


def test_rows_glued_numbers_and_all_zero_outputs(tmp_path):
    path = tmp_path / "error_analysis.txt"
    path.write_text(REPORT)
    rows = read_error_analysis(path)
    assert [(r.tensor, r.entire_cosine, r.single_cosine) for r in rows] == [
        ("x", 1.0, 1.0),
        ("hardswish_0.tmp_0", 0.99994, 0.99994),
        ("p2o.ConvTranspose.3", 0.9904, 0.99995),
        ("sigmoid_0.tmp_0_int8", 0.0, 0.0),
        ("sigmoid_0.tmp_0", 0.0, 0.0),
        ("relu_11.tmp_0", 0.99844, 0.99869),
    ]
    assert output_cosines(rows, ["sigmoid_0.tmp_0", "missing"]) == {"sigmoid_0.tmp_0": 0.0}


def reparameterised_block() -> onnx.ModelProto:
    """The first block of PP-OCRv4 rec as exported, with its tensor names: Conv, BatchNorm, a depthwise Conv whose
    reparameterised scale and bias are a Mul(scale, x) and an Add, HardSwish written out, then a learned affine."""
    rng = np.random.default_rng(0)

    def const(name, shape):
        return numpy_helper.from_array(rng.uniform(0.5, 1.5, shape).astype(np.float32), name)

    init = [
        const("conv2d_10.w_0", (4, 3, 3, 3)),
        const("bn.g", (4,)),
        const("bn.b", (4,)),
        const("bn.m", (4,)),
        const("bn.v", (4,)),
        const("conv2d_157.w_0", (4, 1, 3, 3)),
        const("mobile_one_block_0.w_0", (1, 4, 1, 1)),
        const("mobile_one_block_0.w_1", (1, 4, 1, 1)),
        const("whswish_b_1.w_0", (1,)),
        const("whswish_b_1.w_1", (1,)),
        numpy_helper.from_array(np.array(3.0, np.float32), "three"),
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(6.0, np.float32), "six"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv2d_10.w_0"], ["conv2d_185.tmp_0"], pads=[1, 1, 1, 1]),
        helper.make_node(
            "BatchNormalization", ["conv2d_185.tmp_0", "bn.g", "bn.b", "bn.m", "bn.v"], ["batch_norm_2.tmp_2"]
        ),
        helper.make_node(
            "Conv", ["batch_norm_2.tmp_2", "conv2d_157.w_0"], ["depthwise_conv2d_0.tmp_0"], group=4, pads=[1, 1, 1, 1]
        ),
        helper.make_node("Mul", ["mobile_one_block_0.w_0", "depthwise_conv2d_0.tmp_0"], ["p2o.Mul.1"]),
        helper.make_node("Add", ["p2o.Mul.1", "mobile_one_block_0.w_1"], ["p2o.Add.3"]),
        helper.make_node("Add", ["p2o.Add.3", "three"], ["p2o.Add.5"]),
        helper.make_node("Clip", ["p2o.Add.5", "zero", "six"], ["p2o.Clip.1"]),
        helper.make_node("Mul", ["p2o.Add.3", "p2o.Clip.1"], ["p2o.Mul.3"]),
        helper.make_node("Div", ["p2o.Mul.3", "six"], ["hardswish_30.tmp_0"]),
        helper.make_node("Mul", ["whswish_b_1.w_0", "hardswish_30.tmp_0"], ["p2o.Mul.5"]),
        helper.make_node("Add", ["p2o.Mul.5", "whswish_b_1.w_1"], ["p2o.Add.7"]),
    ]
    graph = helper.make_graph(
        nodes,
        "rec_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("p2o.Add.7", TensorProto.FLOAT, [1, 4, 8, 8])],
        init,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def test_cfg_lists_the_toolkits_layer_names():
    assert cfg_layers(CFG.read_text()) == [
        "x",
        "batch_norm_2.tmp_2",
        "p2o.Add.3",
        "hardswish_30.tmp_0",
        "p2o.Mul.5",
        "p2o.Add.7",
    ]


def test_layers_are_named_as_the_toolkits_fused_layers():
    model = reparameterised_block()
    feed = {"x": np.ones((1, 3, 8, 8), np.float32)}
    layers = find_layers(model, float_tensors(model, feed), quantize_inputs=True)
    # the depthwise Conv's scale and bias fold into it, as in the toolkit: no layer ends at
    # 'depthwise_conv2d_0.tmp_0', the name step2 refused ("Invalid operands name")
    assert [layer.tensor for layer in layers] == [
        "x",
        "batch_norm_2.tmp_2",
        "hardswish_30.tmp_0",
        "p2o.Mul.5",
        "p2o.Add.7",
    ]
    assert layers[2].op_type == "Conv+Mul+Add+HardSwish"
    # the toolkit lists the Conv and the HardSwish as two layers: float16 takes both keys
    assert layers[2].toolkit_names == ["p2o.Add.3", "hardswish_30.tmp_0"]
    assert {name for layer in layers for name in layer.toolkit_names} <= set(cfg_layers(CFG.read_text()))


def test_keys_are_chosen_from_the_cfg_names():
    model, names = reparameterised_block(), cfg_layers(CFG.read_text())
    assert key_candidates(model, "depthwise_conv2d_0.tmp_0") == ["depthwise_conv2d_0.tmp_0", "p2o.Mul.1", "p2o.Add.3"]
    assert toolkit_key(key_candidates(model, "depthwise_conv2d_0.tmp_0"), names) == "p2o.Add.3"
    assert toolkit_key(key_candidates(model, "p2o.Mul.5"), names) == "p2o.Mul.5"
    assert toolkit_key(key_candidates(model, "conv2d_185.tmp_0"), names) == "batch_norm_2.tmp_2"
    assert toolkit_key(["not_a_layer"], names) is None
