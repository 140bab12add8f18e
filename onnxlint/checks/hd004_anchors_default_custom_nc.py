from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

import numpy as np

from onnxlint.analysis.heads import COCO_ANCHORS_PX
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule

COCO_CLASSES = 80


class AnchorsDefaultCustomNcData(TypedDict):
    nc: int
    anchors: list[float]


class AnchorsDefaultCustomNc(Rule):
    code = "HD004"
    name = "anchors-default-custom-nc"
    summary = "A head trained for a custom class count still has the COCO default anchors"
    severity = Severity.INFO
    data_type = AnchorsDefaultCustomNcData

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        coco = [float(v) for row in COCO_ANCHORS_PX for v in row]
        for head in ctx.heads:
            baked = [value for row in head.anchors_px or () for value in row]
            if head.nc == COCO_CLASSES or len(baked) != len(coco) or not np.allclose(baked, coco):
                continue
            yield self.finding(
                f"the {head.family} head has nc={head.nc} (a custom dataset) but the COCO default anchors: either "
                f"autoanchor found them a good fit, or training ran with --noautoanchor",
                node=head.levels[0].conv,
                fix="Check the training log's AutoAnchor lines; if it evolved new anchors, re-export from that "
                "checkpoint and use the same anchors in the post-processing",
                data={"nc": head.nc, "anchors": coco},
            )
