from __future__ import annotations

from typing import Iterator

import numpy as np

from onnxlint.finding import Finding, Severity
from onnxlint.registry import ModelContext, Rule


class BnDefaultStats(Rule):
    code = "NM004"
    name = "bn-default-stats"
    summary = "Every BatchNormalization has mean 0 and variance 1: statistics never trained or never loaded"
    severity = Severity.WARNING

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        batch_norms = [(graph, node) for graph in ctx.graphs for node in graph.nodes_of("BatchNormalization")]
        if not batch_norms:
            return
        for graph, node in batch_norms:
            if len(node.inputs) < 5:
                return
            mean, var = graph.constant(node.inputs[3]), graph.constant(node.inputs[4])
            if mean is None or var is None or np.any(mean != 0) or np.any(var != 1):
                return  # real statistics somewhere (or not readable): the weights were loaded
        graph, first = batch_norms[0]
        subject = (f"all {len(batch_norms)} BatchNormalization nodes have" if len(batch_norms) > 1
                   else "the only BatchNormalization node has")
        yield self.finding(
            f"{subject} running mean 0 and variance 1, the values of a freshly initialised network",
            graph=graph, node=first,
            fix="Load the trained weights (model.load_state_dict) before exporting; a trained network never has "
                "exactly these statistics",
            data={"batch_norm_count": len(batch_norms)})
