from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

import numpy as np

from onnxlint.confirm.ort import AnchorsDecode
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule

# Anchors are pixel sizes; autoanchor's values are printed and stored to a few decimals.
TOLERANCE_PX = 0.5


class AnchorsMismatchData(TypedDict):
    graph_anchors: list[float]  # pixels, (w, h) pairs in level order
    deployment_anchors: list[float]


def _anchor_sets(data: AnchorsMismatchData) -> tuple[list[float], list[float]]:
    return data["graph_anchors"], data["deployment_anchors"]


class AnchorsMismatch(Rule):
    code = "HD003"
    name = "anchors-mismatch"
    summary = "Anchors baked into the graph differ from the ones the deployment's post-processing uses"
    severity = Severity.ERROR
    data_type = AnchorsMismatchData
    confirmer = AnchorsDecode(anchors=_anchor_sets)

    def skip_model_reason(self, ctx: ModelContext) -> str | None:
        if ctx.settings.anchors is None:
            return "no --anchors given"
        if not any(head.anchors_px for head in ctx.heads):
            return (
                "no YOLO head with anchors baked into the graph (anchor-free, or already cut at the head convolutions)"
            )
        return None

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        given = list(ctx.settings.anchors or ())  # not None: skip_model_reason
        for head in ctx.heads:
            if head.anchors_px is None:
                continue
            baked = [value for row in head.anchors_px for value in row]
            if len(baked) == len(given) and np.allclose(baked, given, atol=TOLERANCE_PX):
                continue
            yield self.finding(
                f"the {head.family} head was trained with anchors {_pairs(baked)} but the deployment uses "
                f"{_pairs(given)}",
                node=head.levels[0].conv,
                related=[(ctx.main, level.conv) for level in head.levels[1:]],
                fix="Use the anchors baked into the model in the post-processing (yolov5 autoanchor may have "
                "replaced the defaults; airockchip/yolov5's export writes them to RK_anchors.txt)",
                data={"graph_anchors": baked, "deployment_anchors": given},
            )


def _pairs(values: list[float]) -> str:
    return "[" + ", ".join(f"{w:g}x{h:g}" for w, h in zip(values[::2], values[1::2])) + "]"
