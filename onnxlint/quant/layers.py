"""Where an int8 build rounds: the quantized tensors ("layers") of a model, as rknn-toolkit2 forms them.

The toolkit fuses before it quantizes, so a tensor is quantized where a fused layer ends, not after every node:
  * Conv/Gemm/MatMul followed by BatchNormalization is one layer (the BN is folded into the weights, which the
    weight quantization then sees);
  * a compute layer followed by Relu, Clip (ReLU6), LeakyRelu or PRelu, or by SiLU or HardSwish written out op
    by op, is one layer, quantized after the activation; so is a Conv/Gemm/MatMul followed by an
    Add/Sub/Mul/Div with a constant (a bias or a scale). A ConvTranspose folds none of them: its output and
    the bias Add after it are two int8 tensors (PP-OCRv4 det: the .quantization.cfg and accuracy_analysis
    list p2o.ConvTranspose.3 over [-186, 117] and p2o.Add.281 after it). For SiLU, accuracy_analysis lists the
    convolution and an exSwish layer separately, but the convolution's output is not rounded to int8 over its
    own range (YOLOv8n: the toolkit's single-layer cosine of /model.0/conv is 0.99998 where int8 over its range
    gives 0.9994), and treating the pair as one layer predicts the end-to-end cosine the toolkit measures
    (0.99981 vs 0.99979; as two int8 layers: 0.9993);
  * operators that only move or select values (Reshape, Transpose, Slice, Split, MaxPool, ...) keep their input's
    quantization and add no rounding of their own;
  * Softmax runs in float16 (FLOAT16_OPS): its output is not an int8 tensor.
Every other node output that depends on the model's inputs is a quantized tensor. A layer with constant weights
(Conv, ConvTranspose, Gemm, MatMul) also has its weights quantized.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

PASSTHROUGH = frozenset(
    {
        "Reshape",
        "Transpose",
        "Flatten",
        "Squeeze",
        "Unsqueeze",
        "Identity",
        "Slice",
        "Split",
        "MaxPool",
        "Gather",
        "GatherElements",
        "Expand",
        "Tile",
        "DepthToSpace",
        "SpaceToDepth",
        "Pad",
        "Dropout",
        "Shape",
        "Size",
        "Cast",
        "ConstantOfShape",
        "NonZero",
        "TopK",
        "ArgMax",
        "ArgMin",
        "Range",
        "Equal",
        "Less",
        "Greater",
        "Not",
        "And",
        "Or",
        "GlobalMaxPool",
        "ReduceMax",
        "ReduceMin",
    }
)
FUSED_ACTIVATIONS = frozenset({"Relu", "Clip", "LeakyRelu", "PRelu"})
# Operators the toolkit runs in float16 even in an int8 build: accuracy_analysis shows an exDataConvert to
# float16 before its exSoftmax13 (PP-OCR cls, rk3588), so their outputs are not int8.
FLOAT16_OPS = frozenset({"Softmax"})
AFFINE = ("Add", "Sub", "Mul", "Div")
WEIGHTED = {"Conv": 0, "ConvTranspose": 1, "Gemm": 0, "MatMul": 1}  # op -> output-channel axis of the weight
FOLDS_AFFINE = ("Conv", "Gemm", "MatMul", "BatchNormalization")  # what a following BN, scale or bias folds into


@dataclass(frozen=True)
class Layer:
    index: int
    tensor: str  # the quantized tensor (the end of the fused chain)
    node: str  # the node that starts the layer
    op_type: str  # its op type, with fused followers: "Conv+BatchNormalization+Relu"
    weight: str | None = None  # initializer name of the quantized weights
    weight_axis: int = 0  # output-channel axis of the weights
    weight_input: int = 1  # which input of `node` the weights are
    graph_output: bool = False
    is_input: bool = False  # a graph input (quantized only when it is not raw image data)
    # The input of a SiLU or HardSwish written out op by op that ends the layer: the toolkit lists the layer before
    # it (a Conv) and the activation as two layers of its own (two keys in its .quantization.cfg), though in an
    # all-int8 build the first is not rounded on its own range.
    activation_input: str | None = None

    @property
    def toolkit_names(self) -> list[str]:
        """The toolkit's layers this one stands for, as named in custom_quantize_layers."""
        return [self.activation_input, self.tensor] if self.activation_input else [self.tensor]


def node_name(node: onnx.NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


def constants(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Initializers and Constant-node values of the main graph, by name."""
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output:
            for attribute in node.attribute:
                if attribute.name == "value":
                    values[node.output[0]] = numpy_helper.to_array(attribute.t)
    return values


def find_layers(model: onnx.ModelProto, float_tensors: Collection[str], quantize_inputs: bool) -> list[Layer]:
    """The quantized tensors of the main graph in topological order. `float_tensors`: names of the floating-point
    tensors that depend on the inputs (measured by a float run)."""
    graph = model.graph
    known = constants(model)
    consumers: dict[str, list[int]] = {}
    for i, node in enumerate(graph.node):
        for name in node.input:
            consumers.setdefault(name, []).append(i)
    outputs = {value.name for value in graph.output}
    layers: list[Layer] = []
    if quantize_inputs:
        initializers = {t.name for t in graph.initializer}
        for value in graph.input:
            if value.name not in initializers and value.name in float_tensors:
                layers.append(Layer(len(layers), value.name, value.name, "Input", is_input=True))
    absorbed: set[int] = set()
    for i, node in enumerate(graph.node):
        if (
            i in absorbed
            or node.op_type in PASSTHROUGH
            or node.op_type == "Constant"
            or node.domain not in ("", "ai.onnx")
        ):
            continue
        weight, axis, weight_input = None, 0, 1
        if node.op_type in WEIGHTED and len(node.input) > 1:
            candidate = node.input[1]
            if candidate in known and known[candidate].ndim >= 2:
                weight, axis = candidate, WEIGHTED[node.op_type]
                if node.op_type == "Gemm" and any(a.name == "transB" and a.i for a in node.attribute):
                    axis = 0
                elif node.op_type == "Gemm":
                    axis = 1
            elif node.op_type == "MatMul" and node.input[0] in known and known[node.input[0]].ndim >= 2:
                weight, axis, weight_input = node.input[0], 0, 0
                axis = known[node.input[0]].ndim - 2  # rows of A are the output rows
        for out in node.output:
            if not out or out not in float_tensors:
                continue
            chain, end, activation_input = [node.op_type], out, None
            while end not in outputs:
                activation = _activation(graph, consumers, known, end)
                if activation is not None:  # SiLU or HardSwish written out op by op: the toolkit fuses them
                    name, members = activation
                    absorbed.update(members)
                    activation_input = end
                    chain.append(name)
                    end = graph.node[members[-1]].output[0]
                    continue
                if len(consumers.get(end, [])) != 1:
                    break
                follower_index = consumers[end][0]
                follower = graph.node[follower_index]
                # A chain of constant scales and biases after a weighted layer (BatchNorm, or the Mul and Add of
                # PP-OCRv4's reparameterised blocks, written Mul(scale, x)) folds into its weights and bias.
                affine = (
                    follower.op_type in ("BatchNormalization", *AFFINE)
                    and all(op in ("BatchNormalization", *AFFINE) for op in chain[1:])
                    and chain[0] in FOLDS_AFFINE
                )
                data = [name for name in follower.input if name in float_tensors]
                reads = follower.input[0] == end or (follower.op_type in ("Add", "Mul") and data == [end])
                fusable = follower.op_type in FUSED_ACTIVATIONS or (affine and data == [end])
                if not fusable or not reads or len(follower.output) < 1:
                    break
                absorbed.add(follower_index)
                chain.append(follower.op_type)
                end = follower.output[0]
            if end in float_tensors and node.op_type not in FLOAT16_OPS:
                layers.append(
                    Layer(
                        len(layers),
                        end,
                        node_name(node, i),
                        "+".join(chain),
                        weight,
                        axis,
                        weight_input,
                        graph_output=end in outputs,
                        activation_input=activation_input,
                    )
                )
    return layers


def _activation(graph, consumers: dict[str, list[int]], known, tensor: str) -> tuple[str, list[int]] | None:
    """An activation written out op by op on `tensor`, as (name, node indices, last one producing the result):
    SiLU x * Sigmoid(x), and HardSwish x * Clip(x + 3, 0, 6) / 6 (Div by 6 or Mul by 1/6)."""
    users = consumers.get(tensor, [])
    if len(users) != 2:
        return None
    ops = {graph.node[i].op_type: i for i in users}
    if set(ops) == {"Sigmoid", "Mul"}:
        sigmoid, mul = graph.node[ops["Sigmoid"]], graph.node[ops["Mul"]]
        if sorted(mul.input) == sorted([tensor, sigmoid.output[0]]) and len(consumers.get(sigmoid.output[0], [])) == 1:
            return "SiLU", [ops["Sigmoid"], ops["Mul"]]
        return None
    if set(ops) != {"Add", "Mul"}:
        return None
    add, mul = graph.node[ops["Add"]], graph.node[ops["Mul"]]
    after_add = consumers.get(add.output[0], [])
    if len(after_add) != 1 or graph.node[after_add[0]].op_type not in ("Clip", "Relu"):
        return None
    clip = graph.node[after_add[0]]
    if sorted(mul.input) != sorted([tensor, clip.output[0]]):
        return None
    after_mul = consumers.get(mul.output[0], [])
    if len(after_mul) != 1:
        return None
    scale = graph.node[after_mul[0]]
    if scale.op_type not in ("Div", "Mul") or any(name not in known for name in scale.input[1:]):
        return None
    return "HardSwish", [ops["Add"], after_add[0], ops["Mul"], after_mul[0]]


def bn_multiplier(model: onnx.ModelProto, layer: Layer) -> np.ndarray | None:
    """gamma / sqrt(var + eps) of the BatchNormalization folded into `layer`'s weights, or None."""
    if "BatchNormalization" not in layer.op_type.split("+")[1:2]:
        return None
    graph = model.graph
    known = constants(model)
    start = next((n for i, n in enumerate(graph.node) if node_name(n, i) == layer.node), None)
    if start is None:
        return None
    bn = next((n for n in graph.node if n.op_type == "BatchNormalization" and n.input[0] == start.output[0]), None)
    if bn is None or bn.input[1] not in known or bn.input[4] not in known:
        return None
    eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
    return known[bn.input[1]] / np.sqrt(known[bn.input[4]] + eps)
