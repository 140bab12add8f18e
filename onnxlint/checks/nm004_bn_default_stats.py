from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

import numpy as np

from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule


class BnDefaultStatsData(TypedDict):
    batch_norm_count: int
    default_count: int
    nodes: list[str]


class BnDefaultStats(Rule):
    code = "NM004"
    name = "bn-default-stats"
    summary = "BatchNormalization has running mean 0 and variance 1: statistics never trained or never loaded"
    severity = Severity.WARNING
    data_type = BnDefaultStatsData

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        batch_norms = [(graph, node) for graph in ctx.graphs for node in graph.nodes_of("BatchNormalization")]
        defaults = [(graph, node) for graph, node in batch_norms if _has_default_stats(graph, node)]
        if not defaults:
            return
        graph, first = defaults[0]
        names = [node.name for _, node in defaults]
        if len(defaults) == len(batch_norms):
            subject = (
                f"all {len(defaults)} BatchNormalization nodes have"
                if len(defaults) > 1
                else "the only BatchNormalization node has"
            )
            message = f"{subject} running mean 0 and variance 1, the values of a freshly initialised network"
        else:
            # A trained network never lands exactly on 0 and 1, so the rest of the model was loaded and these
            # layers were not: a layer added after loading, or buffers missing from the checkpoint.
            message = (
                f"{len(defaults)} of {len(batch_norms)} BatchNormalization nodes (first {first.name}) have "
                f"running mean 0 and variance 1 while the others hold trained statistics"
            )
        yield self.finding(
            message,
            graph=graph,
            node=first,
            related=defaults[1:],
            fix="Load the trained weights and buffers before exporting (model.load_state_dict(state, strict=True) "
            "reports missing running_mean/running_var)",
            data={"batch_norm_count": len(batch_norms), "default_count": len(defaults), "nodes": names},
        )


def _has_default_stats(graph, node) -> bool:
    if len(node.inputs) < 5:
        return False
    mean, var = graph.constant(node.inputs[3]), graph.constant(node.inputs[4])
    return mean is not None and var is not None and bool(np.all(mean == 0)) and bool(np.all(var == 1))
