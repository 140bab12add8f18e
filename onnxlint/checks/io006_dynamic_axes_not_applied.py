from __future__ import annotations

from collections.abc import Iterator
from typing import NotRequired, TypedDict

from onnxlint.core.finding import Finding, Severity
from onnxlint.core.graph import format_shape
from onnxlint.core.registry import ModelContext, Rule


class DynamicAxesNotAppliedData(TypedDict):
    axis: int
    rank: NotRequired[int]  # the axis is beyond the tensor's rank
    requested: NotRequired[str | None]  # or the dim is not dynamic as requested
    declared: NotRequired[list[int | str | None]]


class DynamicAxesNotApplied(Rule):
    code = "IO006"
    name = "dynamic-axes-not-applied"
    summary = "An axis the export asked to be dynamic is fixed in the model"
    severity = Severity.ERROR
    data_type = DynamicAxesNotAppliedData

    def skip_model_reason(self, ctx: ModelContext) -> str | None:
        return None if ctx.settings.dynamic_axes is not None else "no --dynamic-axes given"

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        declared = {v.name: v for v in (*ctx.model.declared_inputs, *ctx.model.declared_outputs)}
        for tensor, axes in (ctx.settings.dynamic_axes or {}).items():
            value = declared.get(tensor)
            if value is None or value.shape is None:
                continue  # an unknown name is dynamic-axes-key-mismatch's finding
            for axis, symbol in sorted(axes.items()):
                wanted = f"'{symbol}'" if symbol else "dynamic"
                if not -len(value.shape) <= axis < len(value.shape):
                    yield self.finding(
                        f"dynamic axis {axis} ({wanted}) of '{tensor}' does not exist: the model declares "
                        f"{format_shape(value.shape)}",
                        tensor=tensor,
                        fix=f"Use an axis between 0 and {len(value.shape) - 1}",
                        data={"axis": axis, "rank": len(value.shape)},
                    )
                    continue
                dim = value.shape[axis]
                if isinstance(dim, int):
                    yield self.finding(
                        f"axis {axis} of '{tensor}' was asked to be {wanted} but the model fixes it at {dim} "
                        f"(declared {format_shape(value.shape)})",
                        tensor=tensor,
                        fix="Re-export so the axis stays dynamic: with the TorchScript exporter make every "
                        "dynamic_axes key match input_names/output_names exactly (torch only warns about unknown "
                        "keys); with either exporter make sure the model code does not bake the size in "
                        "(x.view(1, ...) instead of x.view(x.shape[0], ...))",
                        data={"axis": axis, "requested": symbol, "declared": list(value.shape)},
                    )
