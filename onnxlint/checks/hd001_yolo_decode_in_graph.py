from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.confirm.ort import HeadCut
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule


class YoloDecodeInGraphData(TypedDict):
    rknn_outputs: list[str]
    sigmoid_in_graph: bool
    nc: int
    strides: list[int]


def _cut_tensors(data: YoloDecodeInGraphData) -> list[str]:
    return data["rknn_outputs"]


class YoloDecodeInGraph(Rule):
    code = "HD001"
    name = "yolo-decode-in-graph"
    summary = "A YOLO head decodes boxes inside the graph; an NPU model should end at the head convolutions"
    severity = Severity.WARNING
    data_type = YoloDecodeInGraphData
    confirmer = HeadCut(outputs=_cut_tensors)

    def skip_model_reason(self, ctx: ModelContext) -> str | None:
        if ctx.settings.target is None:
            return "no --target given: decoding inside the graph only matters for NPU deployment"
        return None

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for head in ctx.heads:
            if not head.decode_in_graph:
                continue
            first = head.levels[0]
            sigmoid = (
                "the Sigmoid comes after the cut, so post-processing must apply it"
                if first.sigmoid_in_graph
                else "no Sigmoid in the graph"
            )
            yield self.finding(
                f"the {head.family} head (nc={head.nc}, strides {head.strides_text}) decodes boxes inside the graph; "
                f"for {ctx.target.chip} cut it at {head.rknn_outputs} ({sigmoid})",
                node=first.conv,
                tensor=first.tensors[0],
                related=[(ctx.main, conv) for level in head.levels for conv in level.convs if conv is not first.conv],
                fix=f"rknn.load_onnx(model='{ctx.model.path}', outputs={head.rknn_outputs!r}) and decode on the CPU, "
                f"as rknn_model_zoo's post-processing does: the decode puts pixel coordinates and 0..1 scores in "
                f"one tensor, which quantises badly",
                data={
                    "rknn_outputs": head.rknn_outputs,
                    "sigmoid_in_graph": first.sigmoid_in_graph,
                    "nc": head.nc,
                    "strides": [level.stride for level in head.levels],
                },
            )
