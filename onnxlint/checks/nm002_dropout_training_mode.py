from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.confirm.ort import InferenceMode
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule


class DropoutTrainingModeData(TypedDict):
    training_mode: bool | None  # None: a tensor computed at run time sets it
    ratio: float | None


class DropoutTrainingMode(Rule):
    code = "NM002"
    name = "dropout-training-mode"
    summary = "Dropout is exported in training mode"
    severity = Severity.ERROR
    data_type = DropoutTrainingModeData
    confirmer = InferenceMode(op_type="Dropout", repeat=True)

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for graph in ctx.graphs:
            opset = graph.opset("")
            for node in graph.nodes_of("Dropout"):
                ratio = _ratio(graph, node)
                if len(node.inputs) > 2 and node.inputs[2]:
                    mode = graph.scalar(node.inputs[2])
                    if mode is None:
                        yield self.finding(
                            f"Dropout takes its training_mode from the non-constant tensor "
                            f"'{node.inputs[2]}': a runtime value can switch random dropping on",
                            graph=graph,
                            node=node,
                            tensor=node.inputs[2],
                            severity=Severity.WARNING,
                            fix="Export in eval mode so Dropout is removed, or feed a constant False",
                            data={"training_mode": None, "ratio": ratio},
                        )
                    elif bool(mode):
                        yield self._training(graph, node, ratio, "training_mode=True")
                elif opset is not None and opset <= 6 and node.attr("is_test", 0) == 0:
                    yield self._training(graph, node, ratio, "is_test=0")

    def _training(self, graph, node, ratio, reason) -> Finding:
        return self.finding(
            f"Dropout is in training mode ({reason}): it zeroes a random {ratio} of its input on every run",
            graph=graph,
            node=node,
            fix="Call model.eval() before torch.onnx.export and export with training=torch.onnx.TrainingMode.EVAL",
            data={"training_mode": True, "ratio": ratio},
        )


def _ratio(graph, node) -> float:
    """The drop ratio: the `ratio` input from opset 12, the attribute before, 0.5 by default."""
    if len(node.inputs) > 1 and node.inputs[1]:
        value = graph.scalar(node.inputs[1])
        if value is not None:
            return round(float(value), 6)
    return round(float(node.attr("ratio", 0.5)), 6)
