"""Fake quantization in onnxruntime: the float model with a switchable quantize-dequantize after every layer.

After each quantized tensor x (see layers.py) the model computes, in float32,

    q = min(max(floor(x / scale + 0.5) + zero_point, qmin), qmax);  x' = (q - zero_point) * scale
    y = x + mask * (x' - x)

and each quantized weight W becomes W + weight_mask * (W' - W), W' the weights after int8 quantization. The
parameters and both masks are graph inputs indexed by layer, so one onnxruntime session answers every question
the analysis asks (the float model: masks 0; the int8 build: masks 1; one layer alone; all but a few layers)
without rebuilding. Only the weights differ between `quantized_method` values: one session per method.
(floor(v + 0.5) rounds halves up where numpy and onnxruntime's Round round them to even: the same grid,
different only on exact ties. It keeps the rewrite valid down to opset 7.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper, numpy_helper

from onnxlint.quant.calibrate import session
from onnxlint.quant.layers import Layer, bn_multiplier, constants, node_name
from onnxlint.quant.scheme import QParams, fake_quant_weights

PREFIX = "onnxlint_q_"
PARAMS = ("scale", "zp", "lo", "hi", "mask", "wmask")


@dataclass
class Settings:
    """What to quantize in one run: per-layer parameters, and which layers' activations and weights are int."""

    params: Sequence[QParams]
    mask: np.ndarray  # 1: the layer's output is quantized
    wmask: np.ndarray  # 1: the layer's weights are quantized

    def feeds(self) -> dict[str, np.ndarray]:
        arrays = {
            "scale": [p.scale for p in self.params],
            "zp": [p.zero_point for p in self.params],
            "lo": [p.qmin for p in self.params],
            "hi": [p.qmax for p in self.params],
            "mask": self.mask,
            "wmask": self.wmask,
        }
        return {PREFIX + key: np.asarray(value, dtype=np.float32).reshape(-1) for key, value in arrays.items()}


def fake_quant_model(model: onnx.ModelProto, layers: Sequence[Layer], method: str) -> onnx.ModelProto:
    """A copy of `model` with switchable fake quantization after every layer and on its weights."""
    sim = onnx.ModelProto()
    sim.CopyFrom(model)
    graph = sim.graph
    count = len(layers)
    for key in PARAMS:
        graph.input.append(helper.make_tensor_value_info(PREFIX + key, onnx.TensorProto.FLOAT, [count]))
    known = constants(model)
    by_name = {node_name(n, i): n for i, n in enumerate(graph.node)}
    producers = {out: n for n in graph.node for out in n.output if out}
    added_nodes: dict[int, list[onnx.NodeProto]] = {}  # after which original node index
    index_of = {id(n): i for i, n in enumerate(graph.node)}
    prologue: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    outputs = {value.name for value in graph.output}
    for layer in layers:
        k = layer.index
        tag = f"{PREFIX}{k}"
        initializers.append(numpy_helper.from_array(np.array(k, dtype=np.int64), f"{tag}_index"))
        nodes = [helper.make_node("Gather", [PREFIX + key, f"{tag}_index"], [f"{tag}_{key}"], axis=0) for key in PARAMS]
        if layer.is_input:
            source, target = layer.tensor, f"{tag}_in"
            for node in graph.node:
                for position, name in enumerate(node.input):
                    if name == layer.tensor:
                        node.input[position] = target
            if layer.tensor in outputs:
                continue
            where = -1
        else:
            producer = producers[layer.tensor]
            source, target = f"{tag}_float", layer.tensor
            for position, name in enumerate(producer.output):
                if name == layer.tensor:
                    producer.output[position] = source
            where = index_of[id(producer)]
        nodes += _qdq(tag, source, target)
        if layer.weight is not None:
            start = by_name[layer.node]
            weights = known[layer.weight].astype(np.float32)
            multiplier = bn_multiplier(model, layer) if method == "layer" else None
            delta = fake_quant_weights(weights, method, layer.weight_axis, multiplier) - weights
            initializers.append(numpy_helper.from_array(delta, f"{tag}_wdelta"))
            nodes_w = [
                helper.make_node("Mul", [f"{tag}_wdelta", f"{tag}_wmask"], [f"{tag}_wscaled"]),
                helper.make_node("Add", [layer.weight, f"{tag}_wscaled"], [f"{tag}_weight"]),
            ]
            start.input[layer.weight_input] = f"{tag}_weight"
            prologue += nodes[: len(PARAMS)] + nodes_w
            nodes = nodes[len(PARAMS) :]
        if where < 0:
            prologue += nodes
        else:
            added_nodes.setdefault(where, []).extend(nodes)
    ordered = list(prologue)
    for i, node in enumerate(graph.node):
        ordered.append(node)
        ordered.extend(added_nodes.get(i, []))
    del graph.node[:]
    graph.node.extend(ordered)
    graph.initializer.extend(initializers)
    return sim


def _qdq(tag: str, source: str, target: str) -> list[onnx.NodeProto]:
    def n(op: str, inputs: list[str], out: str) -> onnx.NodeProto:
        return helper.make_node(op, inputs, [out])

    half = f"{tag}_half"
    return [
        helper.make_node("Constant", [], [half], value=numpy_helper.from_array(np.array(0.5, dtype=np.float32))),
        n("Div", [source, f"{tag}_scale"], f"{tag}_t"),
        n("Add", [f"{tag}_t", half], f"{tag}_th"),
        n("Floor", [f"{tag}_th"], f"{tag}_r"),
        n("Add", [f"{tag}_r", f"{tag}_zp"], f"{tag}_z"),
        n("Max", [f"{tag}_z", f"{tag}_lo"], f"{tag}_c0"),
        n("Min", [f"{tag}_c0", f"{tag}_hi"], f"{tag}_c"),
        n("Sub", [f"{tag}_c", f"{tag}_zp"], f"{tag}_d"),
        n("Mul", [f"{tag}_d", f"{tag}_scale"], f"{tag}_dq"),
        n("Sub", [f"{tag}_dq", source], f"{tag}_err"),
        n("Mul", [f"{tag}_err", f"{tag}_mask"], f"{tag}_merr"),
        n("Add", [source, f"{tag}_merr"], target),
    ]


class Simulator:
    """Runs the fake-quant model: one session per quantized_method, built on first use."""

    def __init__(self, model: onnx.ModelProto, layers: Sequence[Layer]):
        self.model = model
        self.layers = list(layers)
        self.outputs = [value.name for value in model.graph.output]
        self._sessions: dict[str, object] = {}

    def _session(self, method: str):
        if method not in self._sessions:
            sim = fake_quant_model(self.model, self.layers, method)
            present = {value.name for value in sim.graph.output}
            sim.graph.output.extend(
                onnx.ValueInfoProto(name=layer.tensor)
                for layer in self.layers
                if layer.tensor not in present and not layer.is_input
            )
            self._sessions[method] = session(sim)
        return self._sessions[method]

    def run(
        self, method: str, settings: Settings, feed: Mapping[str, np.ndarray], extra: Sequence[str] = ()
    ) -> list[np.ndarray]:
        """The model's outputs (then the `extra` tensors) under `settings`."""
        names = self.outputs + [name for name in extra if name not in self.outputs]
        return self._session(method).run(names, {**feed, **settings.feeds()})
