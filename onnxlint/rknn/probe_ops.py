"""Ask the real rknn-toolkit2 which ONNX operators each Rockchip chip runs on the NPU.

For every probe case (a tiny ONNX model around one operator) and every chip, the
toolkit's ``load_onnx`` + ``build`` run in a child process with a timeout, because
the toolkit can segfault or hang.  The verbose build log holds a per-layer table
("Network Layer Information Table") naming the target (NPU/CPU) of every layer;
that table, not the log's alarming-looking ``E`` lines, decides the outcome:

* ``npu``          every compute layer of the probed op runs on the NPU (or the op
                   was folded away at build time, so nothing runs on the CPU);
* ``cpu``          at least one of its compute layers falls back to the CPU;
* ``unsupported``  ``load_onnx`` or ``build`` refused the model (non-zero return
                   or exception);
* ``error``        the child crashed, hung, or the probe model itself is invalid:
                   nothing learned about support.

Results go to ``rules/targets/probe/rknn-toolkit2-<version>/<chip>.json`` and are
written after every case, so an interrupted run resumes where it stopped.

The builds run in the toolkit's interpreter, as onnxlint's own builds do (this one when it can import
``rknn``, else the one ONNXLINT_RKNN_PYTHON names), e.g.::

    ONNXLINT_RKNN_PYTHON=/tmp/venv-rknntk/bin/python python -m onnxlint.rknn.probe_ops --chips rk3588 --jobs 2
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from onnxlint.rknn.knowledge import TOOLKIT, int8_only_chips, known_chips, probe_folder, probe_root
from onnxlint.rknn.log import layer_table, log_lines
from onnxlint.rknn.targets import installed_version
from onnxlint.rknn.toolkit import toolkit_missing, toolkit_python

PROBE_OUTPUT = "y"
CAPTURED_INPUT = "outer"
# Outputs of helper nodes carry this prefix so their layers are not mistaken for the probed op.
HELPER_PREFIX = "helper"
MAX_MESSAGE_LINES = 25
MAX_MESSAGE_CHARS = 300

NCHW = (1, 16, 32, 32)
NCDHW = (1, 4, 8, 16, 16)
INT64_MAX = np.iinfo(np.int64).max


# --------------------------------------------------------------------------- case specs


@dataclass(frozen=True)
class In:
    """A graph input fed at build/calibration time."""

    shape: tuple
    dtype: str = "float32"
    # Lower bound of float calibration samples (drawn from [low, low + 1)), for ops with a restricted domain.
    low: float = 0.0
    # The calibration sample itself, for inputs whose values must make sense (a shape, a size, padding).
    value: tuple | None = None


@dataclass(frozen=True)
class Const:
    """An initializer (the toolkit may fold ops whose inputs are all constant)."""

    value: np.ndarray


# An omitted optional input (an empty name in the node's input list).
SKIP = None


@dataclass
class Case:
    """One probe: a model with a single `op` node whose inputs are In/Const/SKIP, in node input order."""

    id: str
    op: str
    inputs: list = field(default_factory=list)
    attrs: dict = field(default_factory=dict)
    opset: int = 13
    outputs: int = 1
    # Feed the first two graph inputs through SequenceConstruct, for ops that consume sequences.
    sequence_input: bool = False
    # Add a graph input to the op's output, for source ops that would leave a model without inputs.
    add_input_to_output: bool = False
    # Reshape the first graph input by the op's output (a shape), so the model keeps a non-constant output.
    reshape_input_by_output: bool = False
    # A graph input that only subgraphs (If branches) read, as exported models do.
    captured_input: In | None = None
    # Float output shape for ops whose output ONNX shape inference cannot type.
    output_shape: tuple | None = None


def f32(*values) -> Const:
    return Const(np.array(values, dtype=np.float32))


def i64(*values) -> Const:
    return Const(np.array(values, dtype=np.int64))


def scalar(value, dtype) -> Const:
    return Const(np.array(value, dtype=dtype))


def weights(*shape) -> Const:
    return Const(np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 0.1)


def unary(op: str, opset: int = 13, dtype="float32", **attrs) -> Case:
    return Case(op, op, [In(NCHW, dtype)], attrs, opset)


def binary(op: str, dtype="float32", opset: int = 13) -> Case:
    return Case(op, op, [In(NCHW, dtype), In(NCHW, dtype)], {}, opset)


def graph_attr(name: str, node_specs: list, inputs: list, outputs: list) -> onnx.GraphProto:
    """A subgraph for If/Loop/Scan/SequenceMap bodies; value infos are (name, elem_type, shape)."""
    return helper.make_graph(
        [helper.make_node(op, ins, outs, **kw) for op, ins, outs, kw in node_specs],
        name,
        [helper.make_tensor_value_info(*value) for value in inputs],
        [helper.make_tensor_value_info(*value) for value in outputs],
    )


def if_branch(name: str, op: str) -> onnx.GraphProto:
    return graph_attr(
        name, [(op, [CAPTURED_INPUT], ["branch_out"], {})], [], [("branch_out", TensorProto.FLOAT, list(NCHW))]
    )


def if_branch_selfcontained(name: str, op: str, fill: float) -> onnx.GraphProto:
    """A branch that computes from its own Constant, so it reads no outer-scope value."""
    value = numpy_helper.from_array(np.full(NCHW, fill, np.float32))
    return graph_attr(
        name,
        [("Constant", [], ["branch_const"], {"value": value}), (op, ["branch_const"], ["branch_out"], {})],
        [],
        [("branch_out", TensorProto.FLOAT, list(NCHW))],
    )


def maxunpool_indices() -> Const:
    """Indices of the top-left element of each 2x2 window of a 1x16x32x32 tensor."""
    c, h, w = np.meshgrid(np.arange(16), np.arange(16), np.arange(16), indexing="ij")
    return Const((c * 32 * 32 + 2 * h * 32 + 2 * w).astype(np.int64)[None])


RNN_SEQ_LENGTH, RNN_INPUT_SIZE, RNN_HIDDEN_SIZE = 8, 16, 32


def recurrent(op: str, gates: int, directions: int = 1, batch: int = 1, case_id: str | None = None) -> Case:
    """LSTM (4 gates), GRU (3) or RNN (1) with constant W, R and B."""
    attrs: dict[str, int | str] = {"hidden_size": RNN_HIDDEN_SIZE}
    if directions == 2:
        attrs["direction"] = "bidirectional"
    outputs = 3 if op == "LSTM" else 2
    return Case(
        case_id or op,
        op,
        [
            In((RNN_SEQ_LENGTH, batch, RNN_INPUT_SIZE)),
            weights(directions, gates * RNN_HIDDEN_SIZE, RNN_INPUT_SIZE),
            weights(directions, gates * RNN_HIDDEN_SIZE, RNN_HIDDEN_SIZE),
            weights(directions, 2 * gates * RNN_HIDDEN_SIZE),
        ],
        attrs,
        outputs=outputs,
    )


def resize(case_id: str, mode: str, scale: float, transform: str = "half_pixel", **extra) -> Case:
    attrs = {"mode": mode, "coordinate_transformation_mode": transform, **extra}
    return Case(case_id, "Resize", [In(NCHW), SKIP, f32(1, 1, scale, scale)], attrs)


def computed_size_cases() -> list[Case]:
    """Operators whose size input (a shape, padding, scales, a count) is a graph input rather than a constant."""

    def size(*values, dtype="int64") -> In:
        return In((len(values),), dtype, value=values)

    def count(value, dtype="int64") -> In:
        return In((), dtype, value=(value,))

    return [
        Case("Reshape.computed_shape", "Reshape", [In(NCHW), size(1, 16, 1024)], output_shape=(1, 16, 1024)),
        Case("Expand.computed_shape", "Expand", [In((1, 16, 1, 32)), size(1, 16, 32, 32)]),
        Case("Tile.computed_repeats", "Tile", [In(NCHW), size(1, 1, 2, 2)]),
        Case("Pad.computed_pads", "Pad", [In(NCHW), size(0, 0, 1, 1, 0, 0, 1, 1)], {"mode": "constant"}),
        Case("Slice.computed_starts", "Slice", [In(NCHW), size(4), i64(20), i64(2), i64(1)]),
        Case(
            "Resize.computed_scales", "Resize", [In(NCHW), SKIP, size(1, 1, 2, 2, dtype="float32")], {"mode": "nearest"}
        ),
        Case("Unsqueeze.computed_axes", "Unsqueeze", [In((1, 16, 32)), size(2)], output_shape=(1, 16, 1, 32)),
        Case("Squeeze.computed_axes", "Squeeze", [In((1, 16, 1, 32)), size(2)], output_shape=(1, 16, 32)),
        Case("TopK.computed_k", "TopK", [In(NCHW), size(4)], {"axis": -1}, outputs=2),
        Case(
            "CenterCropPad.computed_shape",
            "CenterCropPad",
            [In(NCHW), size(24, 24)],
            {"axes": [2, 3]},
            opset=18,
            output_shape=(1, 16, 24, 24),
        ),
        Case(
            "ConstantOfShape.computed_shape",
            "ConstantOfShape",
            [size(*NCHW)],
            {"value": numpy_helper.from_array(np.array([1.0], np.float32))},
            output_shape=NCHW,
        ),
        Case(
            "Range.computed_limit",
            "Range",
            [scalar(0.0, np.float32), count(32.0, "float32"), scalar(1.0, np.float32)],
            opset=11,
            output_shape=(32,),
        ),
        *[
            Case(f"{op}.computed_size", op, [count(32)], opset=17, output_shape=(32,))
            for op in ("BlackmanWindow", "HammingWindow", "HannWindow")
        ],
        Case(
            "Compress.computed_condition",
            "Compress",
            [In(NCHW), In((16,), "bool", value=tuple(np.arange(16) % 2 == 0))],
            {"axis": 1},
            opset=11,
            output_shape=(1, 8, 32, 32),
        ),
        Case("CumSum.computed_axis", "CumSum", [In(NCHW), count(1)]),
        Case("ReduceSum.computed_axes", "ReduceSum", [In(NCHW), size(1)], {"keepdims": 1}, output_shape=(1, 1, 32, 32)),
        Case(
            "ReduceMean.computed_axes",
            "ReduceMean",
            [In(NCHW), size(1)],
            {"keepdims": 1},
            opset=18,
            output_shape=(1, 1, 32, 32),
        ),
        Case(
            "Col2Im.computed_sizes",
            "Col2Im",
            [In((1, 4, 9)), size(4, 4), size(2, 2)],
            opset=18,
            output_shape=(1, 1, 4, 4),
        ),
        # Scale and bias fed at run time, without epsilon: onnx's backend tests write LayerNormalization this way.
        Case(
            "LayerNormalization.computed_scale",
            "LayerNormalization",
            [In(NCHW), In((32,)), In((32,))],
            {"axis": -1},
            opset=17,
        ),
    ]


def build_cases() -> list[Case]:
    if_branches = {"then_branch": if_branch("then", "Relu"), "else_branch": if_branch("else", "Sigmoid")}
    selfcontained_branches = {
        "then_branch": if_branch_selfcontained("then", "Relu", 1.0),
        "else_branch": if_branch_selfcontained("else", "Sigmoid", -1.0),
    }
    bool4 = In(NCHW, "bool")
    int4 = In(NCHW, "int32")
    cases = [
        # Element-wise unary ops.
        *[
            unary(op)
            for op in (
                "Abs",
                "Acos",
                "Asin",
                "Asinh",
                "Atan",
                "Atanh",
                "Ceil",
                "Cos",
                "Cosh",
                "Erf",
                "Exp",
                "Floor",
                "Identity",
                "Log",
                "Neg",
                "Reciprocal",
                "Relu",
                "Round",
                "Sigmoid",
                "Sign",
                "Sin",
                "Sinh",
                "Softplus",
                "Softsign",
                "Sqrt",
                "Tan",
                "Tanh",
                "IsNaN",
                "IsInf",
                "Dropout",
                "Elu",
                "Selu",
                "HardSigmoid",
                "ThresholdedRelu",
                "Shrink",
                "Celu",
            )
        ],
        # Quantized builds calibrate on the samples; outside [1, inf) Acosh yields NaN and the toolkit fails.
        Case("Acosh", "Acosh", [In(NCHW, low=1.0)]),
        unary("HardSwish", opset=14),
        unary("Mish", opset=18),
        unary("LeakyRelu", alpha=0.1),
        unary("Bernoulli", opset=15),
        unary("RandomNormalLike"),
        unary("RandomUniformLike"),
        unary("Not", dtype="bool"),
        unary("BitwiseNot", opset=18, dtype="int32"),
        Case("Clip.relu6", "Clip", [In(NCHW), scalar(0.0, np.float32), scalar(6.0, np.float32)]),
        Case("Cast.to_int32", "Cast", [In(NCHW)], {"to": TensorProto.INT32}),
        Case("Cast.to_float16", "Cast", [In(NCHW)], {"to": TensorProto.FLOAT16}),
        Case("CastLike", "CastLike", [In(NCHW), scalar(0, np.int32)], opset=15),
        # Element-wise binary / variadic ops.
        *[
            binary(op)
            for op in (
                "Add",
                "Sub",
                "Mul",
                "Div",
                "Max",
                "Min",
                "Mean",
                "Sum",
                "Equal",
                "Greater",
                "GreaterOrEqual",
                "Less",
                "LessOrEqual",
            )
        ],
        Case("Add.const", "Add", [In(NCHW), weights(16, 1, 1)]),
        Case("Mul.const", "Mul", [In(NCHW), weights(16, 1, 1)]),
        Case("Div.const", "Div", [In(NCHW), f32(2.0)]),
        Case("Sub.const", "Sub", [In(NCHW), weights(16, 1, 1)]),
        Case("Mod.fmod", "Mod", [In(NCHW), In(NCHW)], {"fmod": 1}),
        Case("Mod.int", "Mod", [int4, int4]),
        Case("Mod.int_const_divisor", "Mod", [int4, scalar(3, np.int32)]),
        Case("PRelu", "PRelu", [In(NCHW), weights(16, 1, 1)]),
        Case("Pow.tensor", "Pow", [In(NCHW), In(NCHW)]),
        Case("Pow.exp2", "Pow", [In(NCHW), f32(2.0)]),
        Case("Pow.exp3", "Pow", [In(NCHW), f32(3.0)]),
        Case("Pow.exp3_3", "Pow", [In(NCHW), f32(3.3)]),
        Case("Pow.exp0_5", "Pow", [In(NCHW), f32(0.5)]),
        Case("Pow.exp0", "Pow", [In(NCHW), f32(0.0)]),
        Case("Pow.exp1", "Pow", [In(NCHW), f32(1.0)]),
        Case("Pow.exp-0_5", "Pow", [In(NCHW), f32(-0.5)]),
        Case("Pow.exp4", "Pow", [In(NCHW), f32(4.0)]),
        Case("Pow.exp-1", "Pow", [In(NCHW), f32(-1.0)]),
        binary("And", "bool"),
        binary("Or", "bool"),
        binary("Xor", "bool"),
        binary("BitwiseAnd", "int32", opset=18),
        binary("BitwiseOr", "int32", opset=18),
        binary("BitwiseXor", "int32", opset=18),
        Case("BitShift", "BitShift", [In(NCHW, "uint32"), In(NCHW, "uint32")], {"direction": "LEFT"}, opset=11),
        Case("Where", "Where", [bool4, In(NCHW), In(NCHW)]),
        # Convolution family.
        Case("Conv.k1", "Conv", [In(NCHW), weights(16, 16, 1, 1)], {"kernel_shape": [1, 1]}),
        Case(
            "Conv.k3s1",
            "Conv",
            [In(NCHW), weights(16, 16, 3, 3), weights(16)],
            {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
        ),
        Case(
            "Conv.k3s2",
            "Conv",
            [In(NCHW), weights(16, 16, 3, 3)],
            {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [2, 2]},
        ),
        Case(
            "Conv.k3_dilation2",
            "Conv",
            [In(NCHW), weights(16, 16, 3, 3)],
            {"kernel_shape": [3, 3], "pads": [2, 2, 2, 2], "dilations": [2, 2]},
        ),
        Case(
            "Conv.k33",
            "Conv",
            [In(NCHW), weights(16, 16, 33, 33)],
            {"kernel_shape": [33, 33], "pads": [16, 16, 16, 16]},
        ),
        Case(
            "Conv.depthwise_k3",
            "Conv",
            [In(NCHW), weights(16, 1, 3, 3)],
            {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "group": 16},
        ),
        Case(
            "Conv.depthwise_k9",
            "Conv",
            [In(NCHW), weights(16, 1, 9, 9)],
            {"kernel_shape": [9, 9], "pads": [4, 4, 4, 4], "group": 16},
        ),
        # Rockchip's documented RK3588 limits (stride <= 7, pad <= 15, dilation <= 31) against the real toolkit.
        Case(
            "Conv.k3s8",
            "Conv",
            [In(NCHW), weights(16, 16, 3, 3)],
            {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [8, 8]},
        ),
        Case("Conv.k1s8", "Conv", [In(NCHW), weights(16, 16, 1, 1)], {"kernel_shape": [1, 1], "strides": [8, 8]}),
        Case(
            "Conv.k3_pad16",
            "Conv",
            [In(NCHW), weights(16, 16, 3, 3)],
            {"kernel_shape": [3, 3], "pads": [16, 16, 16, 16]},
        ),
        Case(
            "Conv.k3_dilation32",
            "Conv",
            [In((1, 16, 96, 96)), weights(16, 16, 3, 3)],
            {"kernel_shape": [3, 3], "pads": [32, 32, 32, 32], "dilations": [32, 32]},
        ),
        Case(
            "Conv.depthwise_k9s8",
            "Conv",
            [In(NCHW), weights(16, 1, 9, 9)],
            {"kernel_shape": [9, 9], "pads": [4, 4, 4, 4], "strides": [8, 8], "group": 16},
        ),
        Case(
            "Conv.3d_k3",
            "Conv",
            [In(NCDHW), weights(4, 4, 3, 3, 3)],
            {"kernel_shape": [3, 3, 3], "pads": [1, 1, 1, 1, 1, 1]},
        ),
        Case(
            "ConvTranspose.k2s2",
            "ConvTranspose",
            [In(NCHW), weights(16, 16, 2, 2)],
            {"kernel_shape": [2, 2], "strides": [2, 2]},
        ),
        Case(
            "ConvTranspose.k4s2p1",
            "ConvTranspose",
            [In(NCHW), weights(16, 16, 4, 4)],
            {"kernel_shape": [4, 4], "strides": [2, 2], "pads": [1, 1, 1, 1]},
        ),
        Case(
            "ConvTranspose.k3s3",
            "ConvTranspose",
            [In(NCHW), weights(16, 16, 3, 3)],
            {"kernel_shape": [3, 3], "strides": [3, 3]},
        ),
        *[
            Case(
                f"ConvTranspose.k{k}s{k}",
                "ConvTranspose",
                [In(NCHW), weights(16, 16, k, k)],
                {"kernel_shape": [k, k], "strides": [k, k]},
            )
            for k in (4, 8, 5)
        ],
        Case(
            "ConvTranspose.k3s1p1",
            "ConvTranspose",
            [In(NCHW), weights(16, 16, 3, 3)],
            {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
        ),
        Case(
            "ConvTranspose.group16",
            "ConvTranspose",
            [In(NCHW), weights(16, 1, 2, 2)],
            {"kernel_shape": [2, 2], "strides": [2, 2], "group": 16},
        ),
        Case(
            "ConvTranspose.k3s2_dilation2",
            "ConvTranspose",
            [In(NCHW), weights(16, 16, 3, 3)],
            {"kernel_shape": [3, 3], "strides": [2, 2], "dilations": [2, 2]},
        ),
        Case(
            "ConvInteger",
            "ConvInteger",
            [In(NCHW, "uint8"), Const(np.ones((16, 16, 3, 3), np.uint8))],
            {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
            opset=10,
        ),
        Case(
            "QLinearConv",
            "QLinearConv",
            [
                In(NCHW, "uint8"),
                scalar(0.1, np.float32),
                scalar(128, np.uint8),
                Const(np.ones((16, 16, 3, 3), np.uint8)),
                scalar(0.1, np.float32),
                scalar(0, np.uint8),
                scalar(0.2, np.float32),
                scalar(128, np.uint8),
            ],
            {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
            opset=10,
        ),
        Case(
            "DeformConv",
            "DeformConv",
            [In(NCHW), weights(16, 16, 3, 3), In((1, 18, 32, 32))],
            {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
            opset=19,
        ),
        # Matrix products.
        Case("MatMul.const", "MatMul", [In(NCHW), weights(32, 32)]),
        Case("MatMul.dynamic", "MatMul", [In(NCHW), In((1, 16, 32, 8))]),
        Case("Gemm", "Gemm", [In((1, 64)), weights(32, 64), weights(32)], {"transB": 1}),
        Case("Einsum", "Einsum", [In((1, 16, 32)), In((1, 32, 8))], {"equation": "bij,bjk->bik"}, opset=12),
        Case("MatMulInteger", "MatMulInteger", [In((1, 16, 32), "uint8"), Const(np.ones((32, 8), np.uint8))], opset=10),
        Case(
            "QLinearMatMul",
            "QLinearMatMul",
            [
                In((1, 16, 32), "uint8"),
                scalar(0.1, np.float32),
                scalar(128, np.uint8),
                Const(np.ones((32, 8), np.uint8)),
                scalar(0.1, np.float32),
                scalar(0, np.uint8),
                scalar(0.2, np.float32),
                scalar(128, np.uint8),
            ],
            opset=10,
        ),
        # Quantization ops.
        Case("QuantizeLinear", "QuantizeLinear", [In(NCHW), scalar(0.1, np.float32), scalar(128, np.uint8)]),
        Case(
            "DequantizeLinear", "DequantizeLinear", [In(NCHW, "uint8"), scalar(0.1, np.float32), scalar(128, np.uint8)]
        ),
        Case("DynamicQuantizeLinear", "DynamicQuantizeLinear", [In(NCHW)], outputs=3, opset=11),
        # Pooling.
        Case("MaxPool.k2s2", "MaxPool", [In(NCHW)], {"kernel_shape": [2, 2], "strides": [2, 2]}),
        Case("MaxPool.k3s1", "MaxPool", [In(NCHW)], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
        Case(
            "MaxPool.k3s2_ceil",
            "MaxPool",
            [In((1, 16, 31, 31))],
            {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
        ),
        Case("MaxPool.k9s1", "MaxPool", [In(NCHW)], {"kernel_shape": [9, 9], "pads": [4, 4, 4, 4]}),
        Case("MaxPool.k2s9", "MaxPool", [In(NCHW)], {"kernel_shape": [2, 2], "strides": [9, 9]}),
        Case("MaxPool.k17s1", "MaxPool", [In(NCHW)], {"kernel_shape": [17, 17], "pads": [8, 8, 8, 8]}),
        Case("MaxPool.3d_k2s2", "MaxPool", [In(NCDHW)], {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2]}),
        Case("AveragePool.k2s2", "AveragePool", [In(NCHW)], {"kernel_shape": [2, 2], "strides": [2, 2]}),
        Case(
            "AveragePool.k3s1",
            "AveragePool",
            [In(NCHW)],
            {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1},
        ),
        Case(
            "AveragePool.k9s1",
            "AveragePool",
            [In(NCHW)],
            {"kernel_shape": [9, 9], "pads": [4, 4, 4, 4], "count_include_pad": 1},
        ),
        Case(
            "AveragePool.k2s2_ceil",
            "AveragePool",
            [In((1, 16, 31, 31))],
            {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1},
        ),
        Case(
            "AveragePool.k3s1_exclude_pad",
            "AveragePool",
            [In(NCHW)],
            {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 0},
        ),
        Case("LpPool", "LpPool", [In(NCHW)], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}, opset=11),
        unary("GlobalAveragePool"),
        unary("GlobalMaxPool"),
        Case("GlobalAveragePool.64", "GlobalAveragePool", [In((1, 16, 64, 64))]),
        Case("GlobalMaxPool.64", "GlobalMaxPool", [In((1, 16, 64, 64))]),
        unary("GlobalLpPool"),
        Case("MaxRoiPool", "MaxRoiPool", [In(NCHW), f32([0, 0, 0, 8, 8])], {"pooled_shape": [2, 2]}),
        Case(
            "RoiAlign",
            "RoiAlign",
            [In(NCHW), f32([0, 0, 8, 8]), i64(0)],
            {"output_height": 4, "output_width": 4},
            opset=16,
        ),
        Case(
            "MaxUnpool",
            "MaxUnpool",
            [In((1, 16, 16, 16)), maxunpool_indices()],
            {"kernel_shape": [2, 2], "strides": [2, 2]},
            opset=11,
        ),
        # Normalization.
        Case(
            "BatchNormalization",
            "BatchNormalization",
            [In(NCHW), weights(16), weights(16), weights(16), Const(np.ones(16, np.float32))],
        ),
        Case("InstanceNormalization", "InstanceNormalization", [In(NCHW), weights(16), weights(16)]),
        # Variants with and without the optional epsilon attribute: the toolkit does not always apply its default.
        Case("LayerNormalization", "LayerNormalization", [In(NCHW), weights(32), weights(32)], {"axis": -1}, opset=17),
        Case(
            "LayerNormalization.epsilon",
            "LayerNormalization",
            [In(NCHW), weights(32), weights(32)],
            {"axis": -1, "epsilon": 1e-5},
            opset=17,
        ),
        Case(
            "LayerNormalization.3d",
            "LayerNormalization",
            [In((1, 64, 32)), weights(32), weights(32)],
            {"axis": -1},
            opset=17,
        ),
        Case(
            "LayerNormalization.epsilon_1e-6",
            "LayerNormalization",
            [In(NCHW), weights(32), weights(32)],
            {"axis": -1, "epsilon": 1e-6},
            opset=17,
        ),
        Case(
            "LayerNormalization.axis1_epsilon",
            "LayerNormalization",
            [In(NCHW), weights(16, 32, 32), weights(16, 32, 32)],
            {"axis": 1, "epsilon": 1e-5},
            opset=17,
        ),
        Case(
            "LayerNormalization.3d_epsilon",
            "LayerNormalization",
            [In((1, 64, 32)), weights(32), weights(32)],
            {"axis": -1, "epsilon": 1e-5},
            opset=17,
        ),
        Case(
            "GroupNormalization",
            "GroupNormalization",
            [In(NCHW), weights(4), weights(4)],
            {"num_groups": 4},
            opset=18,
            output_shape=NCHW,
        ),
        Case(
            "GroupNormalization.epsilon",
            "GroupNormalization",
            [In(NCHW), weights(4), weights(4)],
            {"num_groups": 4, "epsilon": 1e-5},
            opset=18,
            output_shape=NCHW,
        ),
        unary("MeanVarianceNormalization", opset=9),  # onnx cannot shape-infer its function body at 13+
        unary("LpNormalization", axis=1, p=2),
        unary("LRN", size=3),
        # Softmax family.
        Case("Softmax.axis0", "Softmax", [In(NCHW)], {"axis": 0}),
        Case("Softmax.axis1", "Softmax", [In(NCHW)], {"axis": 1}),
        Case("Softmax.axis-1", "Softmax", [In(NCHW)], {"axis": -1}),
        Case("Softmax.axis2", "Softmax", [In(NCHW)], {"axis": 2}),
        Case("LogSoftmax.axis1", "LogSoftmax", [In(NCHW)], {"axis": 1}),
        Case("LogSoftmax.axis-1", "LogSoftmax", [In(NCHW)], {"axis": -1}),
        Case("Hardmax.axis1", "Hardmax", [In(NCHW)], {"axis": 1}),
        Case("Hardmax.axis-1", "Hardmax", [In(NCHW)], {"axis": -1}),
        # Reductions.
        *[
            Case(f"{op}.axis1", op, [In(NCHW)], {"axes": [1], "keepdims": 1})
            for op in (
                "ReduceMax",
                "ReduceMin",
                "ReduceMean",
                "ReduceProd",
                "ReduceL1",
                "ReduceL2",
                "ReduceLogSum",
                "ReduceLogSumExp",
                "ReduceSumSquare",
            )
        ],
        Case("ReduceSum.axis1", "ReduceSum", [In(NCHW), i64(1)], {"keepdims": 1}),
        Case("ArgMax.axis1", "ArgMax", [In(NCHW)], {"axis": 1, "keepdims": 1}),
        Case("ArgMin.axis1", "ArgMin", [In(NCHW)], {"axis": 1, "keepdims": 1}),
        Case("CumSum.axis1", "CumSum", [In(NCHW), scalar(1, np.int64)]),
        Case("TopK.k4", "TopK", [In(NCHW), i64(4)], {"axis": -1}, outputs=2),
        # Shape manipulation.
        Case("Reshape", "Reshape", [In(NCHW), i64(1, 16, 1024)]),
        Case("Reshape.to_5d", "Reshape", [In(NCHW), i64(1, 4, 4, 32, 32)]),
        Case("Reshape.to_6d", "Reshape", [In(NCHW), i64(1, 4, 4, 32, 2, 16)]),
        Case("Flatten", "Flatten", [In(NCHW)], {"axis": 1}),
        Case("Squeeze", "Squeeze", [In((1, 16, 1, 32)), i64(2)]),
        Case("Unsqueeze", "Unsqueeze", [In((1, 16, 32)), i64(2)]),
        Case("Transpose.nhwc", "Transpose", [In(NCHW)], {"perm": [0, 2, 3, 1]}),
        Case("Transpose.5d", "Transpose", [In(NCDHW)], {"perm": [0, 2, 1, 3, 4]}),
        Case("Concat.axis1", "Concat", [In(NCHW), In(NCHW)], {"axis": 1}),
        Case("Concat.5d", "Concat", [In(NCDHW), In(NCDHW)], {"axis": 1}),
        Case("Split.axis1", "Split", [In(NCHW), i64(8, 8)], {"axis": 1}, outputs=2),
        Case("Slice.step1", "Slice", [In(NCHW), i64(4), i64(20), i64(2), i64(1)]),
        Case("Slice.step2", "Slice", [In(NCHW), i64(0), i64(32), i64(3), i64(2)]),
        Case("Slice.channel", "Slice", [In(NCHW), i64(0), i64(8), i64(1), i64(1)]),
        # torch exports x.flip(dims) as starts -1, ends -INT64_MAX, steps -1.
        Case("Slice.step-1_channel", "Slice", [In(NCHW), i64(-1), i64(-INT64_MAX), i64(1), i64(-1)]),
        Case("Slice.step2_h", "Slice", [In(NCHW), i64(0), i64(32), i64(2), i64(2)]),
        Case("Slice.step-1_w", "Slice", [In(NCHW), i64(-1), i64(-INT64_MAX), i64(3), i64(-1)]),
        Case("Tile", "Tile", [In(NCHW), i64(1, 1, 2, 2)]),
        Case("Expand", "Expand", [In((1, 16, 1, 32)), i64(1, 16, 32, 32)]),
        Case("Pad.constant", "Pad", [In(NCHW), i64(0, 0, 1, 1, 0, 0, 1, 1)], {"mode": "constant"}),
        Case("Pad.reflect", "Pad", [In(NCHW), i64(0, 0, 1, 1, 0, 0, 1, 1)], {"mode": "reflect"}),
        Case("CenterCropPad", "CenterCropPad", [In(NCHW), i64(24, 24)], {"axes": [2, 3]}, opset=18),
        Case("DepthToSpace", "DepthToSpace", [In(NCHW)], {"blocksize": 2}),
        Case("SpaceToDepth", "SpaceToDepth", [In(NCHW)], {"blocksize": 2}),
        # Static shapes make these constant, and a model whose outputs are all constant is rejected as invalid.
        # Shape feeds a Reshape of its own input, as exported models do, so that input stays in use.
        Case("Shape", "Shape", [In(NCHW)], reshape_input_by_output=True),
        Case("Size", "Size", [In(NCHW)], add_input_to_output=True),
        Case("Trilu", "Trilu", [In(NCHW)], opset=14),
        Case("ReverseSequence", "ReverseSequence", [In(NCHW), i64(16)], {"batch_axis": 0, "time_axis": 1}),
        Case("Compress", "Compress", [In(NCHW), Const(np.arange(16) % 2 == 0)], {"axis": 1}, opset=11),
        Case("Col2Im", "Col2Im", [In((1, 4, 9)), i64(4, 4), i64(2, 2)], opset=18),
        # Gather / scatter / indexing.
        Case("Gather.axis1", "Gather", [In(NCHW), i64(0, 2, 4)], {"axis": 1}),
        Case("Gather.indices2d", "Gather", [In(NCHW), Const(np.array([[0, 1], [2, 3]], np.int64))], {"axis": 1}),
        Case("Gather.indices_scalar", "Gather", [In(NCHW), scalar(0, np.int64)], {"axis": 1}),
        Case("GatherElements", "GatherElements", [In(NCHW), Const(np.zeros((1, 4, 32, 32), np.int64))], {"axis": 1}),
        Case("GatherND", "GatherND", [In(NCHW), Const(np.array([[0, 1], [0, 3]], np.int64))]),
        Case("ScatterND", "ScatterND", [In(NCHW), Const(np.array([[0, 1], [0, 3]], np.int64)), In((2, 32, 32))]),
        Case(
            "ScatterElements",
            "ScatterElements",
            [In(NCHW), Const(np.zeros((1, 4, 32, 32), np.int64)), In((1, 4, 32, 32))],
            {"axis": 1},
        ),
        Case("OneHot", "OneHot", [In((1, 16), "int64"), i64(10), f32(0.0, 1.0)], {"axis": -1}, opset=11),
        Case("NonZero", "NonZero", [In(NCHW)]),
        Case("Unique", "Unique", [In((64,))], outputs=4, opset=11),
        Case(
            "NonMaxSuppression",
            "NonMaxSuppression",
            [In((1, 64, 4)), In((1, 1, 64)), i64(10), f32(0.5), f32(0.1)],
            opset=11,
        ),
        # Recurrent networks.
        recurrent("LSTM", gates=4),
        recurrent("LSTM", gates=4, directions=2, case_id="LSTM.bidirectional"),
        recurrent("GRU", gates=3),
        recurrent("GRU", gates=3, batch=2, case_id="GRU.batch2"),
        recurrent("GRU", gates=3, batch=4, case_id="GRU.batch4"),
        recurrent("LSTM", gates=4, batch=2, case_id="LSTM.batch2"),
        recurrent("LSTM", gates=4, batch=4, case_id="LSTM.batch4"),
        recurrent("RNN", gates=1),
        # Resize (mode x scale x coordinate transform).
        resize("Resize.nearest_x2", "nearest", 2.0, "asymmetric", nearest_mode="floor"),
        resize("Resize.nearest_x3", "nearest", 3.0, "asymmetric", nearest_mode="floor"),
        resize("Resize.nearest_x1_5", "nearest", 1.5, "asymmetric", nearest_mode="floor"),
        resize("Resize.linear_x2", "linear", 2.0),
        resize("Resize.linear_x3", "linear", 3.0),
        resize("Resize.linear_x1_5", "linear", 1.5),
        resize("Resize.linear_align_corners_x2", "linear", 2.0, "align_corners"),
        resize("Resize.linear_down_x0_5", "linear", 0.5),
        resize("Resize.cubic_x2", "cubic", 2.0),
        resize("Resize.linear_x4", "linear", 4.0),
        resize("Resize.linear_x8", "linear", 8.0),
        resize("Resize.linear_x9", "linear", 9.0),
        resize("Resize.nearest_x9", "nearest", 9.0, "asymmetric", nearest_mode="floor"),
        resize("Resize.linear_pytorch_half_pixel_x2", "linear", 2.0, "pytorch_half_pixel"),
        resize("Resize.linear_asymmetric_x2", "linear", 2.0, "asymmetric"),
        Case(
            "Resize.nearest_sizes_x2",
            "Resize",
            [In(NCHW), SKIP, SKIP, i64(1, 16, 64, 64)],
            {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
        ),
        Case(
            "Resize.linear_x2_1_5",
            "Resize",
            [In(NCHW), SKIP, f32(1, 1, 2, 1.5)],
            {"mode": "linear", "coordinate_transformation_mode": "half_pixel"},
        ),
        # Element-wise ops on 5-D and 6-D tensors.
        Case("Add.5d", "Add", [In(NCDHW), In(NCDHW)]),
        Case("Relu.5d", "Relu", [In(NCDHW)]),
        Case("Mul.6d", "Mul", [In((1, 2, 2, 4, 8, 8)), In((1, 2, 2, 4, 8, 8))]),
        Case("Softmax.5d_axis1", "Softmax", [In(NCDHW)], {"axis": 1}),
        # Control flow.
        Case("If.const_cond", "If", [scalar([True], bool)], if_branches, captured_input=In(NCHW)),
        Case("If.input_cond", "If", [In((1,), "bool")], if_branches, captured_input=In(NCHW)),
        # Branches that read no outer-scope value; the constant-condition model gets a graph input added.
        Case(
            "If.const_cond_selfcontained",
            "If",
            [scalar([True], bool)],
            selfcontained_branches,
            add_input_to_output=True,
        ),
        Case("If.input_cond_selfcontained", "If", [In((1,), "bool")], selfcontained_branches),
        Case(
            "Loop.count4",
            "Loop",
            [i64(4), scalar(True, bool), In(NCHW)],
            {
                "body": graph_attr(
                    "body",
                    [("Identity", ["cond_in"], ["cond_out"], {}), ("Add", ["state_in", "state_in"], ["state_out"], {})],
                    [
                        ("iter", TensorProto.INT64, []),
                        ("cond_in", TensorProto.BOOL, []),
                        ("state_in", TensorProto.FLOAT, list(NCHW)),
                    ],
                    [("cond_out", TensorProto.BOOL, []), ("state_out", TensorProto.FLOAT, list(NCHW))],
                )
            },
            output_shape=NCHW,
        ),
        Case(
            "Scan",
            "Scan",
            [In((32, 32)), In((16, 32, 32))],
            {
                "num_scan_inputs": 1,
                "body": graph_attr(
                    "body",
                    [("Add", ["state_in", "slice_in"], ["state_out"], {})],
                    [("state_in", TensorProto.FLOAT, [32, 32]), ("slice_in", TensorProto.FLOAT, [32, 32])],
                    [("state_out", TensorProto.FLOAT, [32, 32])],
                ),
            },
            opset=11,
        ),
        # Sequences and optionals.
        Case("SequenceConstruct", "SequenceConstruct", [In(NCHW), In(NCHW)], opset=11),
        Case("SequenceEmpty", "SequenceEmpty", [], {"dtype": TensorProto.FLOAT}, opset=11),
        Case("SplitToSequence", "SplitToSequence", [In(NCHW), i64(8, 8)], {"axis": 1}, opset=11),
        Case(
            "ConcatFromSequence", "ConcatFromSequence", [In(NCHW), In(NCHW)], {"axis": 1}, opset=11, sequence_input=True
        ),
        Case("SequenceAt", "SequenceAt", [In(NCHW), In(NCHW), scalar(0, np.int64)], opset=11, sequence_input=True),
        Case(
            "SequenceErase", "SequenceErase", [In(NCHW), In(NCHW), scalar(0, np.int64)], opset=11, sequence_input=True
        ),
        Case("SequenceInsert", "SequenceInsert", [In(NCHW), In(NCHW), In(NCHW)], opset=11, sequence_input=True),
        Case("SequenceLength", "SequenceLength", [In(NCHW), In(NCHW)], opset=11, sequence_input=True),
        Case(
            "SequenceMap",
            "SequenceMap",
            [In(NCHW), In(NCHW)],
            {
                "body": graph_attr(
                    "body",
                    [("Relu", ["item_in"], ["item_out"], {})],
                    [("item_in", TensorProto.FLOAT, list(NCHW))],
                    [("item_out", TensorProto.FLOAT, list(NCHW))],
                )
            },
            opset=17,
            sequence_input=True,
        ),
        Case("Optional", "Optional", [In(NCHW)], opset=15),
        Case("OptionalHasElement", "OptionalHasElement", [In(NCHW)], opset=18),
        Case("OptionalGetElement", "OptionalGetElement", [In(NCHW)], opset=18),
        # Source ops (no data input): a graph input is added to their output.
        Case(
            "Constant",
            "Constant",
            [],
            {"value": numpy_helper.from_array(np.ones(NCHW, np.float32))},
            add_input_to_output=True,
        ),
        Case("ConstantOfShape", "ConstantOfShape", [i64(*NCHW)], add_input_to_output=True),
        Case(
            "ConstantOfShape.value",
            "ConstantOfShape",
            [i64(*NCHW)],
            {"value": numpy_helper.from_array(np.array([1.0], np.float32))},
            add_input_to_output=True,
        ),
        Case("EyeLike.const_input", "EyeLike", [Const(np.zeros((32, 32), np.float32))], add_input_to_output=True),
        Case("EyeLike.graph_input", "EyeLike", [In((32, 32))]),
        Case(
            "Range",
            "Range",
            [scalar(0.0, np.float32), scalar(32.0, np.float32), scalar(1.0, np.float32)],
            opset=11,
            add_input_to_output=True,
        ),
        Case("RandomNormal", "RandomNormal", [], {"shape": list(NCHW)}, add_input_to_output=True),
        Case("RandomUniform", "RandomUniform", [], {"shape": list(NCHW)}, add_input_to_output=True),
        *[
            Case(op, op, [scalar(32, np.int64)], opset=17, add_input_to_output=True)
            for op in ("BlackmanWindow", "HammingWindow", "HannWindow")
        ],
        Case(
            "MelWeightMatrix",
            "MelWeightMatrix",
            [
                scalar(8, np.int64),
                scalar(64, np.int64),
                scalar(16000, np.int64),
                scalar(0.0, np.float32),
                scalar(8000.0, np.float32),
            ],
            opset=17,
            add_input_to_output=True,
        ),
        # Signal processing.
        Case("DFT", "DFT", [In((1, 64, 1))], opset=17),
        Case(
            "STFT", "STFT", [In((1, 256, 1)), scalar(64, np.int64), Const(np.hanning(128).astype(np.float32))], opset=17
        ),
        # Sampling, losses, misc.
        Case("GridSample", "GridSample", [In(NCHW), In((1, 32, 32, 2))], opset=16),
        Case("Det", "Det", [In((1, 16, 32, 32))], opset=11),
        Case("Multinomial", "Multinomial", [In((1, 16))], {"sample_size": 4}, opset=7),
        Case(
            "NegativeLogLikelihoodLoss",
            "NegativeLogLikelihoodLoss",
            [In((1, 16, 32)), Const(np.zeros((1, 32), np.int64))],
        ),
        Case(
            "SoftmaxCrossEntropyLoss", "SoftmaxCrossEntropyLoss", [In((1, 16, 32)), Const(np.zeros((1, 32), np.int64))]
        ),
        Case(
            "TfIdfVectorizer",
            "TfIdfVectorizer",
            [In((1, 16), "int64")],
            {
                "mode": "TF",
                "min_gram_length": 1,
                "max_gram_length": 1,
                "max_skip_count": 0,
                "ngram_counts": [0],
                "ngram_indexes": [0, 1],
                "pool_int64s": [2, 3],
            },
            opset=9,
        ),
        Case("StringNormalizer", "StringNormalizer", [In((1, 4), "str")], {"case_change_action": "LOWER"}, opset=10),
        # Forms that whole-model builds of the real-model corpus put on the CPU (tests/corpus/placement-*.json): Max
        # of operands that are not both 4-D (Whisper's 3-D log-mel floor; a [1] input, as a 0-d graph input alone
        # fails the int8 build), indices given at run time (token ids into an embedding table), int64 arithmetic
        # on run-time data (a waveform's length). Div of two int64 tensors is not probed: the toolkit process dies
        # of SIGFPE.
        Case("Max.3d", "Max", [In((1, 64, 32)), In((1, 64, 32))]),
        Case("Max.one_value", "Max", [In(NCHW), In((1,))]),
        Case("Max.one_value_first", "Max", [In((1,)), In(NCHW)]),
        Case("Gather.computed_indices", "Gather", [In(NCHW), In((3,), "int64")], {"axis": 1}),
        *[Case(f"{op}.int64", op, [In((1, 16), "int64"), In((1, 16), "int64")]) for op in ("Add", "Sub", "Mul")],
        # Forms the agreement check (tools/placement_agreement.py) found unprobed: an input that sets the output size
        # computed at run time (fed sensible values), statistics computed at run time, implicit padding, 3-D pooling.
        *computed_size_cases(),
        Case(
            "BatchNormalization.computed_statistics",
            "BatchNormalization",
            [In(NCHW), In((16,)), In((16,)), In((16,)), In((16,), low=1.0)],
        ),
        Case(
            "AveragePool.k2s1_same_upper", "AveragePool", [In(NCHW)], {"kernel_shape": [2, 2], "auto_pad": "SAME_UPPER"}
        ),
        Case("AveragePool.3d_k2s2", "AveragePool", [In(NCDHW)], {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2]}),
        Case("MaxPool.k2s2_indices", "MaxPool", [In(NCHW)], {"kernel_shape": [2, 2], "strides": [2, 2]}, outputs=2),
        Case("InstanceNormalization.computed_scale", "InstanceNormalization", [In(NCHW), In((16,)), In((16,))]),
        Case(
            "GatherElements.computed_indices",
            "GatherElements",
            [In(NCHW), In((1, 4, 32, 32), "int64", value=(0,) * 4096)],
            {"axis": 1},
        ),
        # Normalising over every axis (axis 0; a first dim of 1 would make it axis 1), which the agreement check found
        # on the CPU rather than refused.
        Case(
            "LayerNormalization.axis0_epsilon",
            "LayerNormalization",
            [In((2, 16, 32)), weights(2, 16, 32), weights(2, 16, 32)],
            {"axis": 0, "epsilon": 1e-5},
            opset=17,
        ),
        Case(
            "AveragePool.3d_dilation2",
            "AveragePool",
            [In(NCDHW)],
            {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2], "dilations": [2, 2, 2]},
            opset=19,
        ),
        # Layout operators on tensors whose dims after the first two hold a number of elements that is not a
        # multiple of 8 (7 x 9, 63), which the agreement check found as CPU Reshapes on rk3588; the probes above hold
        # multiples of 8.
        Case("Flatten.unaligned", "Flatten", [In((1, 3, 7, 9))], {"axis": 1}),
        Case("Reshape.unaligned", "Reshape", [In((1, 3, 7, 9)), i64(1, 3, 63)]),
        Case("Squeeze.unaligned", "Squeeze", [In((1, 3, 7, 9)), i64(0)]),
        Case("Unsqueeze.unaligned", "Unsqueeze", [In((1, 3, 63)), i64(2)]),
        Case("Transpose.3d_unaligned", "Transpose", [In((1, 3, 63))], {"perm": [0, 2, 1]}),
    ]
    ids = [case.id for case in cases]
    duplicates = {case_id for case_id in ids if ids.count(case_id) > 1}
    assert not duplicates, f"duplicate case ids: {sorted(duplicates)}"
    return cases


CASES = build_cases()


# --------------------------------------------------------------------------- model building


def onnx_elem_type(dtype: str) -> int:
    if dtype == "str":
        return TensorProto.STRING
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def sample_input(spec: In) -> np.ndarray:
    """Calibration data; ones for integer inputs stay in range as indices and are safe divisors."""
    rng = np.random.default_rng(0)
    if spec.value is not None:
        return np.array(spec.value, dtype=spec.dtype).reshape(spec.shape)
    if spec.dtype == "str":
        return np.full(spec.shape, "Probe", dtype=object)
    if spec.dtype == "bool":
        return rng.random(spec.shape) > 0.5
    if np.issubdtype(np.dtype(spec.dtype), np.floating):
        return (spec.low + rng.random(spec.shape)).astype(spec.dtype)
    return np.ones(spec.shape, dtype=spec.dtype)


def describe_input(spec) -> str:
    if spec is SKIP:
        return ""
    if isinstance(spec, In):
        fed = "" if spec.value is None else f" fed {list(spec.value)}" if len(spec.value) <= 8 else " fed fixed values"
        return f"{spec.dtype}{list(spec.shape)}{fed}"
    value = spec.value
    text = f"const {value.dtype}{list(value.shape)}"
    if value.size > 8:
        return text
    shown = value.astype(np.float64).round(4) if np.issubdtype(value.dtype, np.floating) else value
    return f"{text}={shown.tolist()}"


def describe_attr(value):
    if isinstance(value, onnx.GraphProto):
        return f"<graph {value.name}: {', '.join(node.op_type for node in value.node)}>"
    if isinstance(value, onnx.TensorProto):
        return f"<tensor {list(value.dims)}>"
    return value


def inferred_output_types(model: onnx.ModelProto, names: list[str]) -> dict[str, onnx.TypeProto]:
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    known = {value.name: value.type for value in [*inferred.graph.value_info, *inferred.graph.output]}
    return {name: known[name] for name in names if name in known and known[name].WhichOneof("value")}


def build_model(case: Case) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """One-node model for `case`, plus one sample per graph input for calibration."""
    graph_inputs, initializers, node_inputs, feeds = [], [], [], {}
    for index, spec in enumerate(case.inputs):
        if spec is SKIP:
            node_inputs.append("")
        elif isinstance(spec, In):
            name = f"x{index}"
            graph_inputs.append(helper.make_tensor_value_info(name, onnx_elem_type(spec.dtype), spec.shape))
            node_inputs.append(name)
            feeds[name] = sample_input(spec)
        else:
            name = f"c{index}"
            initializers.append(numpy_helper.from_array(spec.value, name))
            node_inputs.append(name)

    nodes = []
    if case.sequence_input:
        sequence = f"{HELPER_PREFIX}_sequence"
        nodes.append(helper.make_node("SequenceConstruct", node_inputs[:2], [sequence], name=sequence))
        node_inputs = [sequence, *node_inputs[2:]]
    if case.captured_input is not None:
        graph_inputs.append(
            helper.make_tensor_value_info(
                CAPTURED_INPUT, onnx_elem_type(case.captured_input.dtype), case.captured_input.shape
            )
        )
        feeds[CAPTURED_INPUT] = sample_input(case.captured_input)
    output_names = [PROBE_OUTPUT] + [f"{PROBE_OUTPUT}{index}" for index in range(1, case.outputs)]
    nodes.append(helper.make_node(case.op, node_inputs, output_names, name="probe", **case.attrs))

    def assemble(graph_outputs: list[onnx.ValueInfoProto]) -> onnx.ModelProto:
        graph = helper.make_graph(nodes, f"probe_{case.id}", graph_inputs, graph_outputs, initializers)
        opsets = [helper.make_opsetid("", case.opset)]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="onnxlint-probe")
        model.ir_version = helper.find_min_ir_version_for(opsets)
        return model

    untyped = assemble([helper.make_empty_tensor_value_info(name) for name in output_names])
    types = inferred_output_types(untyped, output_names)
    if case.output_shape is not None:
        types[PROBE_OUTPUT] = helper.make_tensor_type_proto(TensorProto.FLOAT, case.output_shape)
    graph_outputs = [helper.make_value_info(name, types[name]) for name in output_names]
    if case.add_input_to_output:
        # Source ops would leave a model without inputs, which says nothing about the op itself.
        shape = [dim.dim_value for dim in types[PROBE_OUTPUT].tensor_type.shape.dim]
        elem_type = types[PROBE_OUTPUT].tensor_type.elem_type
        addend, total = f"{HELPER_PREFIX}_addend", f"{HELPER_PREFIX}_sum"
        graph_inputs.append(helper.make_tensor_value_info(addend, elem_type, shape))
        feeds[addend] = sample_input(In(tuple(shape), helper.tensor_dtype_to_np_dtype(elem_type).name))
        nodes.append(helper.make_node("Add", [PROBE_OUTPUT, addend], [total], name=total))
        graph_outputs = [helper.make_tensor_value_info(total, elem_type, shape), *graph_outputs[1:]]
    if case.reshape_input_by_output:
        reshaped = f"{HELPER_PREFIX}_reshaped"
        nodes.append(helper.make_node("Reshape", [graph_inputs[0].name, PROBE_OUTPUT], [reshaped], name=reshaped))
        graph_outputs = [helper.make_value_info(reshaped, graph_inputs[0].type)]
    return assemble(graph_outputs), feeds


# --------------------------------------------------------------------------- child process

MARKER = "@@probe "
# The child: run the toolkit and report each stage's return value as a marker line.
BUILD_ONE = r"""
import json
import sys
from rknn.api import RKNN

model, chip, dataset, marker = sys.argv[1], sys.argv[2], sys.argv[3] or None, sys.argv[4]
report = lambda key, value: print(marker + json.dumps({key: value}), flush=True)
rknn = RKNN(verbose=True)
stage = "config"
try:
    report("stage", stage)
    rknn.config(target_platform=chip)
    stage = "load"
    report("stage", stage)
    report("load_ret", rknn.load_onnx(model=model))
    stage = "build"
    report("stage", stage)
    report("build_ret", rknn.build(do_quantization=dataset is not None, dataset=dataset))
except Exception as exc:  # the toolkit raises arbitrary types; any of them means "refused"
    report("exception", {"stage": stage, "text": f"{type(exc).__name__}: {exc}"})
finally:
    rknn.release()
"""


# --------------------------------------------------------------------------- log parsing

LOG_TIMESTAMP = re.compile(r"\[\d\d:\d\d:\d\d\.\d+\] ")
TEMP_PATH = re.compile(r"/tmp/[\w.-]+")
BOILERPLATE_LINES = (
    "config.mean_values is None",
    "config.std_values is None",
    "temperate env",
    "rknn-toolkit2 version",
)
# Printed by successful builds too, so it never explains a failure.
BENIGN_ERRORS = ("Unkown op target",)


def is_refusal(message: str) -> bool:
    return message.startswith("E ") and not any(benign in message for benign in BENIGN_ERRORS)


def key_messages(lines: list[str], work_dir: str) -> list[str]:
    """Error/warning lines without timestamps or temp paths, so reruns give identical text."""
    messages = []
    for line in lines:
        if not (line.startswith(("E ", "W ")) or "Error" in line.split(":", 1)[0]):
            continue
        if any(noise in line for noise in BOILERPLATE_LINES):
            continue
        text = TEMP_PATH.sub("<tmp>", LOG_TIMESTAMP.sub("", line.replace(work_dir, "<tmp>")))
        text = text[:MAX_MESSAGE_CHARS]
        if text not in messages:
            messages.append(text)
    return messages[:MAX_MESSAGE_LINES]


def probe_layers(log: str) -> list[list[str]]:
    """[op_type, dtype, target] of the compute layers that come from the probed op (not I/O operators, not
    helper nodes)."""
    return [
        [layer.op_type, layer.dtype, layer.target]
        for layer in layer_table(log)
        if not layer.is_io and not layer.full_name.partition(":")[2].startswith(HELPER_PREFIX)
    ]


def classify(log: str, returncode: int, timed_out: bool, timeout: float, work_dir: str) -> dict:
    lines = log_lines(log)
    markers = {}
    for line in lines:
        if line.startswith(MARKER):
            markers.update(json.loads(line[len(MARKER) :]))
    messages = key_messages(lines, work_dir)
    layers = probe_layers(log)
    stage = markers.get("stage")

    def result(outcome: str, failed_stage: str | None, extra: Sequence[str] = ()) -> dict:
        return {"outcome": outcome, "stage": failed_stage, "messages": [*extra, *messages], "layers": layers}

    if timed_out:
        return result("error", stage, [f"probe: killed after {timeout:g} s without finishing"])
    if "exception" in markers:
        exception = markers["exception"]
        # The toolkit wraps whole tracebacks into the exception text; its last line names the cause.
        cause = exception["text"].strip().splitlines()[-1].strip()
        return result("unsupported", exception["stage"], [f"probe: exception: {cause}"[:MAX_MESSAGE_CHARS]])
    finished = markers.get("load_ret") not in (None, 0) or "build_ret" in markers
    if returncode > 0 and any(is_refusal(message) for message in messages):
        # The native compiler exits the process right after printing why it refuses the model.
        return result("unsupported", stage, [f"probe: toolkit process exited with code {returncode}"])
    if returncode != 0 or not finished:
        died = f"signal {signal.Signals(-returncode).name}" if returncode < 0 else f"exit code {returncode}"
        return result("error", stage, [f"probe: toolkit process died ({died})"])
    if markers["load_ret"] != 0:
        return result("unsupported", "load", [f"probe: load_onnx returned {markers['load_ret']}"])
    if markers["build_ret"] != 0:
        return result("unsupported", "build", [f"probe: build returned {markers['build_ret']}"])
    if not layers:
        return result("npu", None, ["probe: no compute layer left, the op was folded or removed at build time"])
    on_cpu = any(target != "NPU" for _, _, target in layers)
    return result("cpu" if on_cpu else "npu", None)


# --------------------------------------------------------------------------- running cases


def case_record(case: Case) -> dict:
    return {
        "op": case.op,
        "opset": case.opset,
        "attrs": {name: describe_attr(value) for name, value in case.attrs.items()},
        "inputs": [describe_input(spec) for spec in case.inputs],
    }


def write_dataset(work_dir: Path, feeds: dict[str, np.ndarray]) -> str:
    """Calibration list for quantized builds: one line, one .npy per graph input in input order."""
    paths = []
    for name, value in feeds.items():
        path = work_dir / f"{name}.npy"
        np.save(path, value)
        paths.append(str(path))
    dataset = work_dir / "dataset.txt"
    dataset.write_text(" ".join(paths) + "\n")
    return str(dataset)


def check_probe_model(model: onnx.ModelProto) -> None:
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        # Exporters still emit ops deprecated in newer opsets (GroupNormalization-18): probe them anyway.
        if "is deprecated" not in str(exc):
            raise


def run_case(case: Case, chip: str, timeout: float, python: str) -> dict:
    started = time.monotonic()
    try:
        model, feeds = build_model(case)
        check_probe_model(model)
    except Exception as exc:  # a broken probe model is a bug in this script, not a toolkit verdict
        outcome = {
            "outcome": "error",
            "stage": "model",
            "layers": [],
            "messages": [f"probe: invalid probe model: {type(exc).__name__}: {exc}"[:MAX_MESSAGE_CHARS]],
        }
    else:
        outcome = build_with_toolkit(model, feeds, chip, timeout, python)
    return {**case_record(case), **outcome, "seconds": round(time.monotonic() - started, 2)}


def build_with_toolkit(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray], chip: str, timeout: float, python: str
) -> dict:
    """The toolkit's verdict on `model` for `chip` (see classify), from a child process that may crash or hang;
    int8-only chips get a quantized build calibrated on `feeds` (one sample per graph input, in input order)."""
    with tempfile.TemporaryDirectory(prefix="rknn-probe-") as work:
        work_dir = Path(work)
        model_path = work_dir / "model.onnx"
        onnx.save(model, model_path)
        dataset = write_dataset(work_dir, feeds) if chip in int8_only_chips() else ""
        command = [python, "-c", BUILD_ONE, str(model_path), chip, dataset, MARKER]
        # A new session lets a timeout kill the toolkit together with any helpers it spawned.
        process = subprocess.Popen(
            command,
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
            env={**os.environ, "TMPDIR": work},
        )
        try:
            log, _ = process.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            log, _ = process.communicate()
            timed_out = True
        return classify(log, process.returncode, timed_out, timeout, work)


class ChipResults:
    """One chip's JSON file, rewritten atomically after every case so runs can resume."""

    def __init__(self, path: Path, chip: str, toolkit_version: str, python_version: str):
        self.path = path
        self.lock = Lock()
        existing = json.loads(path.read_text()) if path.exists() else {}
        self.data = {
            "toolkit_version": toolkit_version,
            "chip": chip,
            "python": python_version,
            "generated": existing.get("generated"),
            "cases": existing.get("cases", {}),
        }

    def has(self, case_id: str) -> bool:
        return case_id in self.data["cases"]

    def record(self, case_id: str, result: dict) -> None:
        with self.lock:
            self.data["cases"][case_id] = result
            self.data["generated"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".json.tmp")
            temporary.write_text(json.dumps(self.data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
            temporary.replace(self.path)


def select_cases(patterns: list[str]) -> list[Case]:
    return [case for case in CASES if any(fnmatch.fnmatchcase(case.id, pattern) for pattern in patterns)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--chips", nargs="+", default=["rk3588"], help=f"target platforms (any of {', '.join(known_chips())})"
    )
    parser.add_argument("--cases", nargs="+", default=["*"], help="glob patterns on case ids, e.g. 'Conv.*'")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel toolkit processes")
    parser.add_argument("--timeout", type=float, default=120, help="seconds before a build counts as hung")
    parser.add_argument(
        "--out",
        type=Path,
        default=probe_root(),
        help=f"results root; files go to <out>/{probe_folder('<version>')}/<chip>.json",
    )
    parser.add_argument("--redo", action="store_true", help="rerun cases already present in the output files")
    parser.add_argument("--list", action="store_true", help="print the selected case ids and exit")
    args = parser.parse_args(argv)

    cases = select_cases(args.cases)
    if args.list:
        print("\n".join(case.id for case in cases))
        return 0
    unknown_chips = sorted(set(args.chips) - set(known_chips()))
    if unknown_chips:
        parser.error(f"unknown chips {unknown_chips}; known: {list(known_chips())}")
    python = toolkit_python()
    toolkit_version = installed_version() if python else None
    if python is None or toolkit_version is None:
        parser.error(toolkit_missing())
    python_version = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    out_dir = args.out / probe_folder(toolkit_version)
    results = {
        chip: ChipResults(out_dir / f"{chip}.json", chip, toolkit_version, python_version) for chip in args.chips
    }
    todo = [(chip, case) for chip in args.chips for case in cases if args.redo or not results[chip].has(case.id)]
    print(f"{TOOLKIT} {toolkit_version}: {len(todo)} builds to run, writing to {out_dir}", flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_case, case, chip, args.timeout, python): (chip, case) for chip, case in todo}
        for done, future in enumerate(as_completed(futures), start=1):
            chip, case = futures[future]
            result = future.result()
            results[chip].record(case.id, result)
            print(
                f"[{done}/{len(todo)}] {chip} {case.id}: {result['outcome']}"
                f"{' at ' + result['stage'] if result['stage'] else ''} ({result['seconds']} s)",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
