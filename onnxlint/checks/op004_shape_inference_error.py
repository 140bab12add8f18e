from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TypedDict

import onnx

from onnxlint.checks._inference import failing_node
from onnxlint.checks.op003_model_invalid import ModelInvalid
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule

_OP_TYPE = re.compile(r"\(op_type:(\w+)")


class ShapeInferenceErrorData(TypedDict):
    inference_message: str


class ShapeInferenceError(Rule):
    code = "OP004"
    name = "shape-inference-error"
    summary = "onnx shape inference finds shapes or types that contradict each other"
    severity = Severity.WARNING
    data_type = ShapeInferenceErrorData

    def skip_model_reason(self, ctx: ModelContext) -> str | None:
        if ctx.model.checker_error:
            return f"the model fails onnx.checker ({ModelInvalid.code}), so shape inference would only repeat it"
        return None

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        error = ctx.model.inference.strict_error
        if error is None:
            return
        if _passes_without_data_propagation(ctx.model.proto):
            return  # only onnx's data propagation sees a contradiction; runtimes do not propagate values
        innermost = _OP_TYPE.findall(error)[-1:]
        if innermost and not any(n.op_type == innermost[0] for g in ctx.graphs for n in g.nodes):
            return  # the error is inside onnx's own expansion of a function op, not in this model
        first_line = error.splitlines()[0].strip()
        graph, node, _ = failing_node(ctx, error)
        yield self.finding(
            f"strict shape inference fails: {first_line}",
            graph=graph,
            node=node,
            fix="Make the declared shapes agree with what the graph computes (re-export, or run onnxsim); "
            "converters that rely on shape inference, rknn-toolkit2 among them, fail or guess here",
            data={"inference_message": error},
        )


def _passes_without_data_propagation(proto: onnx.ModelProto) -> bool:
    """Whether strict shape inference passes when values are not propagated. Data propagation computes the values
    of small integer tensors as flat lists and can fail where the real tensors broadcast (an Unsqueeze'd [320, 1]
    added to a [459]); onnxruntime runs onnx's per-operator inference without it and loads such models."""
    try:
        onnx.shape_inference.infer_shapes(proto, strict_mode=True, data_prop=False)
    except Exception:
        return False
    return True
