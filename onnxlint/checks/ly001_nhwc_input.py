from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.analysis.layout import IMAGE_CHANNELS, layout_chain
from onnxlint.confirm.ort import LayoutSwap
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.graph import format_shape
from onnxlint.core.registry import ModelContext, Rule

NHWC_TO_NCHW = [0, 3, 1, 2]


class NhwcInputData(TypedDict):
    shape: list[int | str | None]
    channels: int
    converted_by: str


class NhwcInput(Rule):
    code = "LY001"
    name = "nhwc-input"
    summary = "An image input is channels-last (NHWC) and converted to NCHW inside the graph"
    severity = Severity.INFO
    data_type = NhwcInputData
    confirmer = LayoutSwap()

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for value in ctx.model.declared_inputs:
            shape = value.shape
            if shape is None or len(shape) != 4 or shape[3] not in IMAGE_CHANNELS:
                continue
            for node in layout_chain(ctx.main, value.name):
                if node.op_type == "Transpose":
                    if list(node.attr("perm", [])) == NHWC_TO_NCHW:
                        yield self._finding(value.name, shape, node)
                    break
                if node.op_type == "Reshape":
                    moved = ctx.main.shape(node.outputs[0])
                    before = ctx.main.shape(node.inputs[0]) or shape  # a Pad on the way changes H and W
                    if (
                        shape[3] == 1
                        and moved is not None
                        and len(moved) == 4
                        and moved[1] == 1
                        and len(before) == 4
                        and moved[2:] == before[1:3]
                    ):
                        yield self._finding(value.name, shape, node)
                    break

    def _finding(self, name: str, shape, node) -> Finding:
        return self.finding(
            f"input '{name}' is channels-last {format_shape(shape)} and {node.op_type} {node.name} turns it into "
            f"NCHW inside the graph",
            node=node,
            tensor=name,
            fix="Feed NHWC data and configure the runtime for it (rknn inference(data_format='nhwc'), Horizon "
            "input_layout_rt: NHWC), with mean/std given per channel in that order; or re-export with an NCHW "
            "input and no Transpose",
            data={"shape": list(shape), "channels": shape[3], "converted_by": node.name},
        )
