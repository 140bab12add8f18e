from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.confirm.toolkit_build import BuildFails, ToolkitBuild
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.graph import format_shape
from onnxlint.core.registry import ModelContext, TargetRule


class TargetDynamicShapeData(TypedDict):
    inputs: list[str]
    shapes: list[list[int | str | None] | None]
    suggested_sizes: list[list[int | str]]
    toolkit: str


class TargetDynamicShape(TargetRule):
    code = "TG002"
    name = "target-dynamic-shape"
    summary = "A model input has a dim that is not a fixed positive size, which the toolkit refuses"
    severity = Severity.ERROR
    data_type = TargetDynamicShapeData
    confirmer = ToolkitBuild(claim=BuildFails(words=("input shape", "dynamic")))

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        facts = ctx.target.toolkit
        dynamic = [
            value
            for value in ctx.model.declared_inputs
            if value.shape is None or any(not isinstance(d, int) or d <= 0 for d in value.shape)
        ]
        if not dynamic:
            return
        # Batch 1 is what an NPU runs; other dynamic sizes are the user's choice.
        fixed = [
            [
                1 if axis == 0 and not isinstance(d, int) else d if isinstance(d, int) and d > 0 else "?"
                for axis, d in enumerate(value.shape or ())
            ]
            for value in dynamic
        ]
        names = [value.name for value in dynamic]
        sizes = ", ".join(f"'{v.name}' {format_shape(v.shape)}" for v in dynamic)
        refusal = facts.dynamic_input_refusal.format(shape=list(dynamic[0].shape or ()), name=dynamic[0].name)
        yield self.finding(
            f"{sizes} {'is' if len(dynamic) == 1 else 'are'} not fixed; unless the sizes are given, {facts.label} "
            f"refuses it at load_onnx: '{refusal}'",
            tensor=names[0],
            fix=f"Fix the shape: rknn.load_onnx(model='{ctx.model.path}', inputs={names!r}, "
            f"input_size_list={fixed!r}) (replace any '?' with the deployment size), or re-export with static "
            f"axes; or list the shapes to support with rknn.config(dynamic_input=[{fixed!r}]) (experimental "
            f"in 2.x)",
            data={
                "inputs": names,
                "shapes": [list(v.shape) if v.shape else None for v in dynamic],
                "suggested_sizes": fixed,
                "toolkit": facts.label,
            },
        )
