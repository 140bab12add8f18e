"""Hostile variants of the committed fixtures, for the fuzz tests: graph-level edits of the protobuf (inputs,
outputs, value types, initializers, attributes, opsets, nodes, wiring) and byte-level edits of its serialization.

Every mutation takes the model and a `random.Random` and returns a short description of what it did, so that a
failing example says which edit broke onnxlint.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import onnx
from onnx import AttributeProto, TensorProto

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEED_MODELS = tuple(sorted(FIXTURES.glob("*.onnx")) + sorted((FIXTURES / "toolkit").glob("*.onnx")))

# Element types a hostile file may claim: unknown numbers, undefined, strings and every ordinary kind.
HOSTILE_ELEM_TYPES = (
    0,
    999,
    -1,
    TensorProto.STRING,
    TensorProto.BOOL,
    TensorProto.FLOAT16,
    TensorProto.DOUBLE,
    TensorProto.INT8,
    TensorProto.UINT8,
    TensorProto.INT64,
    TensorProto.COMPLEX64,
    TensorProto.BFLOAT16,
    TensorProto.FLOAT8E4M3FN,
)
HOSTILE_INTS = (0, -1, 1, 2, 3, 7, 99, -99, 1 << 31, (1 << 63) - 1, -(1 << 63))
HOSTILE_VERSIONS = (0, -1, -(1 << 31), (1 << 31) - 1, 1 << 31, (1 << 62), (1 << 63) - 1, 10_000)
# Attributes the rules and analyses read: these are the ones worth breaking.
READ_ATTRIBUTES = (
    "perm",
    "axis",
    "axes",
    "ratio",
    "training_mode",
    "is_test",
    "alpha",
    "epsilon",
    "momentum",
    "start",
    "end",
    "mode",
    "value",
    "value_float",
    "value_ints",
    "to",
    "strides",
    "kernel_shape",
)


def _pick(rnd: random.Random, items):
    items = list(items)
    return rnd.choice(items) if items else None


def _graphs(model: onnx.ModelProto) -> list[onnx.GraphProto]:
    found = []

    def walk(graph):
        found.append(graph)
        for node in graph.node:
            for attribute in node.attribute:
                if attribute.HasField("g"):
                    walk(attribute.g)
                for sub in attribute.graphs:
                    walk(sub)

    walk(model.graph)
    return found


def _nodes(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    return [node for graph in _graphs(model) for node in graph.node] + [
        node for function in model.functions for node in function.node
    ]


def _tensors(model: onnx.ModelProto) -> list[TensorProto]:
    found = [t for graph in _graphs(model) for t in graph.initializer]
    for node in _nodes(model):
        for attribute in node.attribute:
            if attribute.HasField("t"):
                found.append(attribute.t)
    # Small tensors are the ones rules read (statistics, constants, anchors): favour them.
    small = [t for t in found if len(t.raw_data) <= 4096 and len(t.dims) <= 5]
    return small or found


def _values(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    return [v for graph in _graphs(model) for v in (*graph.input, *graph.output, *graph.value_info)]


def drop_value(model, rnd):
    graph = _pick(rnd, _graphs(model))
    field = rnd.choice(("input", "output", "value_info"))
    values = getattr(graph, field)
    if not values:
        return "nothing to drop"
    at = rnd.randrange(len(values))
    name = values[at].name
    del values[at]
    return f"dropped {field} '{name}'"


def rename_value(model, rnd):
    value = _pick(rnd, _values(model))
    if value is None:
        return "no value"
    old, value.name = value.name, rnd.choice(("", "missing", value.name + "_renamed", "\x00", "é" * 3))
    return f"renamed value '{old}' to {value.name!r}"


def retype_value(model, rnd):
    value = _pick(rnd, _values(model))
    if value is None:
        return "no value"
    choice = rnd.randrange(4)
    if choice == 0:
        value.type.tensor_type.elem_type = rnd.choice(HOSTILE_ELEM_TYPES)
        return f"value '{value.name}' elem_type {value.type.tensor_type.elem_type}"
    if choice == 1:
        value.type.ClearField("tensor_type")
        value.type.sequence_type.elem_type.tensor_type.elem_type = TensorProto.FLOAT
        return f"value '{value.name}' made a sequence"
    if choice == 2:
        value.type.tensor_type.ClearField("shape")
        return f"value '{value.name}' shape cleared"
    return f"value '{value.name}' dims: {_mutate_dims(value, rnd)}"


def _mutate_dims(value: onnx.ValueInfoProto, rnd: random.Random) -> str:
    dims = value.type.tensor_type.shape.dim
    choice = rnd.randrange(4)
    if choice == 0 and dims:
        del dims[rnd.randrange(len(dims))]
        return "one dim removed"
    if choice == 1:
        dims.add().dim_value = rnd.choice(HOSTILE_INTS)
        return "one dim added"
    if not dims:
        return "no dims"
    dim = dims[rnd.randrange(len(dims))]
    if choice == 2:
        dim.Clear()  # neither value nor param
        return "one dim unnamed"
    value_or_param = rnd.choice((*HOSTILE_INTS, "", "batch", "\x00"))
    if isinstance(value_or_param, int):
        dim.dim_value = value_or_param
    else:
        dim.dim_param = value_or_param
    return f"one dim set to {value_or_param!r}"


def corrupt_tensor(model, rnd):
    tensor = _pick(rnd, _tensors(model))
    if tensor is None:
        return "no tensor"
    choice = rnd.randrange(6)
    if choice == 0:
        cut = rnd.randrange(len(tensor.raw_data) + 1)
        tensor.raw_data = tensor.raw_data[:cut] if rnd.random() < 0.7 else tensor.raw_data + b"\x01" * (cut + 1)
        return f"tensor '{tensor.name}' raw_data now {len(tensor.raw_data)} bytes"
    if choice == 1:
        tensor.data_type = rnd.choice(HOSTILE_ELEM_TYPES)
        return f"tensor '{tensor.name}' data_type {tensor.data_type}"
    if choice == 2:
        if tensor.dims and rnd.random() < 0.5:
            del tensor.dims[rnd.randrange(len(tensor.dims))]
        else:
            tensor.dims.append(rnd.choice((0, 1, 2, 3, 1 << 20)))
        return f"tensor '{tensor.name}' dims {list(tensor.dims)}"
    if choice == 3:  # values moved out of raw_data, or into the field of another type
        tensor.ClearField("raw_data")
        rnd.choice((tensor.float_data, tensor.int64_data, tensor.int32_data)).extend(range(rnd.randrange(4)))
        return f"tensor '{tensor.name}' typed data of the wrong size or field"
    if choice == 4:
        tensor.ClearField("raw_data")
        tensor.string_data.extend([b"x", b"\xff"][: rnd.randrange(3)])
        tensor.data_type = rnd.choice((TensorProto.STRING, TensorProto.FLOAT))
        return f"tensor '{tensor.name}' string data"
    tensor.data_location = TensorProto.EXTERNAL
    location = rnd.choice(("", "w.bin", "../w.bin", "/etc/passwd", "a\x00b", "sub/\x00", "C:\\w.bin"))
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    return f"tensor '{tensor.name}' external at {location!r}"


def break_attribute(model, rnd):
    nodes = [n for n in _nodes(model) if any(a.name in READ_ATTRIBUTES for a in n.attribute)] or _nodes(model)
    node = _pick(rnd, nodes)
    if node is None or not node.attribute:
        return "no attribute"
    read = [a for a in node.attribute if a.name in READ_ATTRIBUTES] or list(node.attribute)
    attribute = rnd.choice(read)
    name = attribute.name
    choice = rnd.randrange(7)
    if choice == 0:
        node.attribute.remove(attribute)
        return f"{node.op_type} lost attribute {name}"
    attribute.Clear()
    attribute.name = name
    if choice == 1:
        attribute.type, attribute.floats[:] = AttributeProto.FLOATS, [0.0, 2.5, 3.0, 1.0]
    elif choice == 2:
        attribute.type, attribute.s = AttributeProto.STRING, b"\xffnot a number"
    elif choice == 3:
        attribute.type, attribute.i = AttributeProto.INT, rnd.choice(HOSTILE_INTS)
    elif choice == 4:
        attribute.type = AttributeProto.INTS
        attribute.ints[:] = rnd.choice(([], [0, 5, 7, 1], [3, 3, 3, 3], [0, 1], [-1, 0, 2, 1]))
    elif choice == 5:
        attribute.type, attribute.f = AttributeProto.FLOAT, rnd.choice((float("nan"), float("inf"), -1.0, 1e30))
    else:
        attribute.type = rnd.choice((AttributeProto.UNDEFINED, AttributeProto.GRAPH, AttributeProto.TENSOR))
    return f"{node.op_type} attribute {name} rewritten as type {attribute.type}"


def set_versions(model, rnd):
    if rnd.random() < 0.4:
        model.ir_version = rnd.choice(HOSTILE_VERSIONS)
        return f"ir_version {model.ir_version}"
    opset = _pick(rnd, model.opset_import)
    if opset is None or rnd.random() < 0.2:
        opset = model.opset_import.add()
        opset.domain = rnd.choice(("", "ai.onnx", "custom"))
    opset.version = rnd.choice(HOSTILE_VERSIONS)
    return f"opset {opset.domain!r} version {opset.version}"


def delete_node(model, rnd):
    graph = _pick(rnd, _graphs(model))
    if not graph.node:
        return "no node"
    at = rnd.randrange(len(graph.node))
    op_type = graph.node[at].op_type
    del graph.node[at]
    return f"deleted a {op_type}"


def rewire(model, rnd):
    node = _pick(rnd, [n for n in _nodes(model) if n.input])
    if node is None:
        return "no input"
    at = rnd.randrange(len(node.input))
    choice = rnd.randrange(6)
    if choice == 3:
        del node.input[at:]
        return f"{node.op_type} keeps {at} inputs"
    if choice == 4:
        node.input.append(rnd.choice(list(node.input)))
        return f"{node.op_type} given an extra input"
    if choice == 5:
        del node.output[rnd.randrange(len(node.output) + 1) :]
        return f"{node.op_type} keeps {len(node.output)} outputs"
    if choice == 0:
        node.input[at] = "no_such_tensor"
        return f"{node.op_type} input {at} reads a missing tensor"
    if choice == 1 and node.output:
        node.input[at] = node.output[0]
        return f"{node.op_type} reads its own output"
    node.input[at] = ""
    return f"{node.op_type} input {at} left out"


GRAPH_MUTATIONS: tuple[Callable[[onnx.ModelProto, random.Random], str], ...] = (
    drop_value,
    rename_value,
    retype_value,
    corrupt_tensor,
    corrupt_tensor,
    break_attribute,
    break_attribute,
    set_versions,
    delete_node,
    rewire,
)


def mutate_bytes(data: bytes, rnd: random.Random, edits: int) -> tuple[bytes, str]:
    """Flip, insert or delete bytes of a serialized model; returns the bytes and what was done."""
    buffer = bytearray(data)
    done = []
    for _ in range(edits):
        if not buffer:
            break
        kind = rnd.choice(("flip", "insert", "delete", "truncate"))
        at = rnd.randrange(len(buffer))
        if kind == "flip":
            buffer[at] ^= rnd.randrange(1, 256)
        elif kind == "insert":
            buffer[at:at] = rnd.randbytes(rnd.randrange(1, 17))
        elif kind == "delete":
            del buffer[at : at + rnd.randrange(1, 65)]
        else:
            del buffer[at:]
        done.append(f"{kind}@{at}")
    return bytes(buffer), "bytes " + " ".join(done)
