from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule


class HeadClassesMismatchData(TypedDict):
    head_classes: int
    deployment_classes: int


class HeadClassesMismatch(Rule):
    code = "HD005"
    name = "head-classes-mismatch"
    summary = "The class count the head was built for differs from the deployment's"
    severity = Severity.ERROR
    data_type = HeadClassesMismatchData

    def skip_model_reason(self, ctx: ModelContext) -> str | None:
        if ctx.settings.classes is None:
            return "no --classes given"
        if not ctx.heads:
            return "no YOLO head recognised"
        return None

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for head in ctx.heads:
            if head.nc == ctx.settings.classes:
                continue
            first = head.levels[0]
            yield self.finding(
                f"the {head.family} head predicts {head.nc} classes ({first.shape[1]} channels = {head.na} x "
                f"(5 + {head.nc})) but the deployment expects {ctx.settings.classes}",
                node=first.conv,
                tensor=first.tensors[0],
                fix=f"Use the labels file the model was trained with ({head.nc} names), or set the post-processing's "
                f"class count to {head.nc}",
                data={"head_classes": head.nc, "deployment_classes": ctx.settings.classes},
            )
