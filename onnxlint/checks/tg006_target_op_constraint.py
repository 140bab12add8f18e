from __future__ import annotations

from collections.abc import Iterator

from onnxlint.checks._placement import PlacementData, placement_claim
from onnxlint.confirm.toolkit_build import ToolkitBuild
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, PlacementRule
from onnxlint.rknn.placement import verdict


class TargetOpConstraintData(PlacementData):
    condition: str  # the probe condition's id


class TargetOpConstraint(PlacementRule):
    code = "TG006"
    name = "target-op-constraint"
    summary = "Operator parameters (attributes, constant inputs, shapes) that send a node to the CPU or break the build"
    severity = Severity.WARNING  # an error where the measured outcome is a failure, not a CPU fallback
    data_type = TargetOpConstraintData
    confirmer = ToolkitBuild(claim=placement_claim)

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        facts, chip = ctx.target.toolkit, ctx.target.chip
        for placement in ctx.placements:
            condition = placement.condition
            if condition is None:
                continue
            node = placement.node
            yield self.finding(
                f"{node.op_type} has {condition.says}: {verdict(placement, facts.label, chip)} "
                f"(probe case {placement.case.id})",
                node=node,
                fix=condition.fix,
                severity=Severity.ERROR if placement.fails else Severity.WARNING,
                data={
                    "condition": condition.id,
                    "chip": chip,
                    "toolkit": facts.label,
                    "outcome": placement.outcome,
                    "probe_case": placement.case.id,
                    "toolkit_message": placement.case.toolkit_words if placement.outcome != "cpu" else None,
                    "missing_cpu_kernels": list(placement.missing_cpu_kernels),
                },
            )
