from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.checks.nm001_bn_training_mode import batchnorm_training_reason
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule


class BnNotFoldedData(TypedDict):
    conv: str


class BnNotFolded(Rule):
    code = "NM003"
    name = "bn-not-folded"
    summary = "An inference-mode BatchNormalization directly follows a convolution it could be folded into"
    severity = Severity.INFO
    data_type = BnNotFoldedData

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for graph in ctx.graphs:
            for node in graph.nodes_of("BatchNormalization"):
                if batchnorm_training_reason(node, graph.opset("")):
                    continue  # a training-mode BN cannot be folded; bn-training-mode reports it
                conv = graph.producer(node.inputs[0])
                if conv is None or conv.op_type not in ("Conv", "ConvTranspose") or conv.domain:
                    continue
                if len(graph.consumers(node.inputs[0])) != 1 or node.inputs[0] in graph.output_names:
                    continue  # the un-normalised conv output is used elsewhere, so folding changes the graph
                yield self.finding(
                    f"BatchNormalization follows a {conv.op_type} and could be folded into its weights",
                    graph=graph,
                    node=node,
                    fix="Export with do_constant_folding=True from an eval-mode model, or run onnxsim; "
                    "a folded graph is smaller and quantises with one fewer rounding step",
                    data={"conv": conv.name},
                )
