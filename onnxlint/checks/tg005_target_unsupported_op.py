from __future__ import annotations

from collections.abc import Iterator

from onnxlint.checks._placement import PlacementData, placement_claim
from onnxlint.confirm.toolkit_build import ToolkitBuild
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.graph import Node
from onnxlint.core.registry import ModelContext, PlacementRule
from onnxlint.rknn.placement import Placement, verdict


class TargetUnsupportedOpData(PlacementData):
    op_type: str
    nodes: list[str]


class TargetUnsupportedOp(PlacementRule):
    code = "TG005"
    name = "target-unsupported-op"
    summary = "Operators the toolkit cannot build for this chip, or builds with CPU kernels the chip does not have"
    severity = Severity.ERROR
    data_type = TargetUnsupportedOpData
    confirmer = ToolkitBuild(claim=placement_claim)

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        facts, chip = ctx.target.toolkit, ctx.target.chip
        # Refusals of the operator as such; refusals that depend on its parameters are TG006's.
        by_op: dict[str, list[Placement]] = {}
        for placement in ctx.placements:
            if placement.condition is None and placement.fails:
                by_op.setdefault(placement.node.op_type, []).append(placement)
        for op_type, placements in by_op.items():
            nodes: list[Node] = [p.node for p in placements]
            first = placements[0]
            count = f"{len(nodes)} such nodes" if len(nodes) > 1 else f"one, {nodes[0].name}"
            yield self.finding(
                f"{verdict(first, facts.label, chip, op_type)} (probe case {first.case.id}); the model has {count}",
                node=nodes[0],
                related=[(ctx.main, node) for node in nodes[1:]],
                fix=f"Take {op_type} out of the model: cut before it (rknn.load_onnx(outputs=[...])) and do that "
                f"part in the application, or replace it with operators the {chip} NPU runs",
                data={
                    "op_type": op_type,
                    "nodes": [node.name for node in nodes],
                    "chip": chip,
                    "toolkit": facts.label,
                    "outcome": first.outcome,
                    "probe_case": first.case.id,
                    "toolkit_message": first.case.toolkit_words if first.outcome != "cpu" else None,
                    "missing_cpu_kernels": list(first.missing_cpu_kernels),
                },
            )
