"""The model summary behind `onnxlint inspect`: plain data, rendered by the output modules."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import onnx

from onnxlint.analysis.heads import model_heads
from onnxlint.core.graph import GraphView, format_shape
from onnxlint.core.model import LoadedModel, all_tensors, dtype_name

# Parameters are the floating-point constants (weights); integer constants are shapes and indices.
FLOAT_TYPES = frozenset(
    {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16, onnx.TensorProto.DOUBLE}
)
# Bytes per weight when an NPU toolkit stores the parameters at each precision.
PRECISION_BYTES = {"fp32": 4, "fp16": 2, "int8": 1}


def summarize(model: LoadedModel, graphs: tuple[GraphView, ...]) -> dict[str, Any]:
    proto = model.proto
    histogram = Counter(
        (node.op_type if not node.domain else f"{node.domain}.{node.op_type}") for g in graphs for node in g.nodes
    )
    parameter_count = int(
        sum(int(np.prod(t.dims, dtype=np.int64)) for t in all_tensors(proto) if t.data_type in FLOAT_TYPES)
    )
    return {
        "path": str(model.path),
        "ir_version": proto.ir_version,
        "opsets": {(o.domain or "ai.onnx"): o.version for o in sorted(proto.opset_import, key=lambda o: o.domain)},
        "producer": " ".join(p for p in (proto.producer_name, proto.producer_version) if p) or None,
        "inputs": [_value(v) for v in model.declared_inputs],
        "outputs": [_value(v) for v in model.declared_outputs],
        "node_count": sum(len(g.nodes) for g in graphs),
        "subgraph_count": sum(1 for g in graphs if g.path != "main" and not g.is_function),
        "function_count": len(proto.functions),
        "op_histogram": dict(sorted(histogram.items(), key=lambda kv: (-kv[1], kv[0]))),
        "parameter_count": parameter_count,
        "weight_memory": {
            precision: {"bytes": parameter_count * size, "mib": round(parameter_count * size / 2**20, 2)}
            for precision, size in PRECISION_BYTES.items()
        },
        "heads": [head.to_dict() for head in model_heads(model, graphs[0])],
        "size_bytes": {
            "file": model.file_size,
            "external_data": model.external_data_size,
            "total": model.file_size + model.external_data_size,
        },
    }


def _value(value) -> dict[str, Any]:
    return {
        "name": value.name,
        "dtype": dtype_name(value.elem_type),
        "shape": None if value.shape is None else list(value.shape),
        "shape_text": format_shape(value.shape),
    }
