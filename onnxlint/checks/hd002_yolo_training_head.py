from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule


class YoloTrainingHeadData(TypedDict):
    outputs: list[str]
    nc: int
    na: int


class YoloTrainingHead(Rule):
    code = "HD002"
    name = "yolo-training-head"
    summary = "The model outputs YOLO Detect's training branch: raw 5-D logits per level, no decode"
    severity = Severity.WARNING
    data_type = YoloTrainingHeadData

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        outputs = set(ctx.main.output_names)
        for head in ctx.heads:
            raw = [level for level in head.levels if level.permuted in outputs and not level.sigmoid_in_graph]
            if not raw:
                continue
            yield self.finding(
                f"outputs {[level.permuted for level in raw]} are the {head.family} Detect training branch "
                f"([batch, {head.na}, ny, nx, {head.nc + 5}] logits, no Sigmoid, no box decode): the model was "
                f"exported with Detect in training mode",
                node=raw[0].conv,
                tensor=raw[0].permuted,
                related=[(ctx.main, level.conv) for level in raw[1:]],
                fix="Call model.eval() before exporting (yolov5's export.py does); for an NPU, cut at the head "
                f"convolutions {head.rknn_outputs} instead of these reshaped tensors",
                data={"outputs": [level.permuted for level in raw], "nc": head.nc, "na": head.na},
            )
