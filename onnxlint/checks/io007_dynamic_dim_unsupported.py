from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.analysis.probe import UNIFORM_SIZE
from onnxlint.checks._inference import failing_node
from onnxlint.checks.op003_model_invalid import dim_probe_skip_reason
from onnxlint.checks.op004_shape_inference_error import ShapeInferenceError
from onnxlint.confirm.ort import DynamicSizes, FailsAtSize
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule


class DynamicDimUnsupportedData(TypedDict):
    dynamic_dims: list[str]
    probe_size: int
    inference_message: str


def _fails_at_probe_size(data: DynamicDimUnsupportedData) -> FailsAtSize:
    return FailsAtSize(data["probe_size"])


class DynamicDimUnsupported(Rule):
    code = "IO007"
    name = "dynamic-dim-unsupported"
    summary = "Input dims are declared dynamic but the graph cannot run at any other size"
    severity = Severity.ERROR
    data_type = DynamicDimUnsupportedData
    confirmer = DynamicSizes(claim=_fails_at_probe_size)

    def skip_model_reason(self, ctx: ModelContext) -> str | None:
        if reason := dim_probe_skip_reason(ctx):
            return reason
        if ctx.model.inference.strict_error:
            return f"strict shape inference already fails on the model as declared ({ShapeInferenceError.code})"
        return None

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        run = ctx.dim_probe.unsupported
        if run is None or run.failure is None:  # an unsupported run always has a failure
            return
        dims = ", ".join(f"{name}[{axis}]" for name, axis in sorted(run.given))
        graph, node, reason = failing_node(ctx, run.failure)
        where = f" at {node.op_type} {node.name}" if node else ""
        verb, each = ("are", "each") if len(run.given) > 1 else ("is", "it")
        yield self.finding(
            f"{dims} {verb} declared dynamic, but with {each} set to {UNIFORM_SIZE} shape inference fails{where}: "
            f"{reason}; the graph only runs at the sizes it was exported with",
            graph=graph,
            node=node,
            tensor=sorted(run.given)[0][0],
            fix="Export with fixed sizes, or make the model size-independent before exporting: shapes taken from "
            "x.shape rather than constants (YOLOv5: export --dynamic sets Detect.dynamic so the anchor grids "
            "are rebuilt per input; a baked grid or x.view(1, ...) pins the size)",
            data={
                "dynamic_dims": [f"{name}[{axis}]" for name, axis in sorted(run.given)],
                "probe_size": UNIFORM_SIZE,
                "inference_message": run.failure,
            },
        )
