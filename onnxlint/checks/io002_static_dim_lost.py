from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.checks.op003_model_invalid import dim_probe_skip_reason
from onnxlint.confirm.ort import DynamicSizes, OutputAxesKeepSize
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.graph import format_shape
from onnxlint.core.registry import ModelContext, Rule


class StaticDimLostData(TypedDict):
    declared: list[int | str | None]
    fixed: list[int | str | None]
    axes: list[int]


def _keeps_size(data: StaticDimLostData) -> OutputAxesKeepSize:
    return OutputAxesKeepSize(tuple(data["axes"]))


class StaticDimLost(Rule):
    code = "IO002"
    name = "static-dim-lost"
    summary = "An output dim the graph fixes is declared dynamic"
    severity = Severity.WARNING
    data_type = StaticDimLostData
    confirmer = DynamicSizes(claim=_keeps_size)

    def skip_model_reason(self, ctx: ModelContext) -> str | None:
        return dim_probe_skip_reason(ctx)

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for value in ctx.model.declared_outputs:
            if value.shape is None:
                continue
            lost = [
                (axis, declared, fixed)
                for axis, declared in enumerate(value.shape)
                if not isinstance(declared, int) and (fixed := ctx.dim_probe.fixed_value(value.name, axis)) is not None
            ]
            if not lost:
                continue
            fixed_by_axis = {axis: fixed for axis, _, fixed in lost}
            fixed_shape = tuple(fixed_by_axis.get(axis, dim) for axis, dim in enumerate(value.shape))
            described = ", ".join(
                f"axis {axis} '{declared or '?'}' is always {fixed}" for axis, declared, fixed in lost
            )
            yield self.finding(
                f"output '{value.name}' is declared {format_shape(value.shape)} but the graph fixes it: {described}",
                tensor=value.name,
                fix=f"Declare '{value.name}' as {format_shape(fixed_shape)}: drop those axes from dynamic_axes, or, "
                f"where the exporter invented the names (torch's TorchScript exporter does when its own shape "
                f"inference gives up), run onnxsim or set the dims in the output's type; NPU compilers and "
                f"post-processing need the fixed size",
                data={"declared": list(value.shape), "fixed": list(fixed_shape), "axes": [a for a, _, _ in lost]},
            )
