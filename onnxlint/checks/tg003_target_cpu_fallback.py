from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import ClassVar, TypedDict

from onnxlint.confirm.toolkit_build import OnCpu, ToolkitBuild
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.graph import GraphView, Node
from onnxlint.core.registry import ModelContext, PlacementRule, RuleOption
from onnxlint.rknn.placement import CPU, Placement


class TargetCpuFallbackData(TypedDict):
    op_type: str
    nodes: list[str]
    cpu_islands: int
    chip: str
    toolkit: str


class TargetCpuFallback(PlacementRule):
    code = "TG003"
    name = "target-cpu-fallback"
    summary = "Operators the toolkit places on the CPU for this chip, splitting the graph between NPU and CPU"
    severity = Severity.WARNING
    data_type = TargetCpuFallbackData
    confirmer = ToolkitBuild(claim=OnCpu())
    options: ClassVar[Mapping[str, RuleOption]] = {
        "accept-ops": RuleOption(
            list,
            [],
            "operator types the project accepts on the CPU (e.g. the "
            "decode tail's Reshape): not reported, still counted in islands",
        )
    }

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        facts, chip = ctx.target.toolkit, ctx.target.chip
        graph = ctx.main
        # Operators every probe case put on the CPU; parameter-dependent placements are TG006's, and CPU
        # layers the chip's runtime lacks are failures (TG005).
        accepted = set(ctx.settings.option(self, "accept-ops"))
        by_op: dict[str, list[Node]] = {}
        for placement in ctx.placements:
            if placement.node.op_type in accepted:
                continue
            if placement.condition is None and placement.outcome == CPU and not placement.missing_cpu_kernels:
                by_op.setdefault(placement.node.op_type, []).append(placement.node)
        if not by_op:
            return
        islands = cpu_islands(graph, ctx.placements)
        for op_type, nodes in by_op.items():
            count = f"{len(nodes)} such nodes" if len(nodes) > 1 else f"one, {nodes[0].name}"
            yield self.finding(
                f"{facts.label} places {op_type} on the CPU for {chip} in every form it was probed in, and the "
                f"model has {count}; with the other CPU operators that makes up to {islands} CPU "
                f"island{'s' if islands != 1 else ''} between NPU parts (the build may fuse neighbours)",
                node=nodes[0],
                related=[(graph, node) for node in nodes[1:]],
                fix=f"Replace {op_type} with operators the {chip} NPU runs, move it into pre/post-processing, "
                f"or cut the model before it (rknn.load_onnx(outputs=[...]))",
                data={
                    "op_type": op_type,
                    "nodes": [node.name for node in nodes],
                    "cpu_islands": islands,
                    "chip": chip,
                    "toolkit": facts.label,
                },
            )


def cpu_islands(graph: GraphView, placements: list[Placement]) -> int:
    """Connected groups of nodes placed on the CPU: each is one hand-over from the NPU and back."""
    members = {p.node.index: p.node for p in placements if p.outcome == CPU}
    parent = {index: index for index in members}

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for node in members.values():
        for output in node.outputs:
            for consumer in graph.consumers(output):
                if consumer.index in members:
                    parent[root(consumer.index)] = root(node.index)
    return len({root(index) for index in members})
