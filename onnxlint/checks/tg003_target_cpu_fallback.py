from __future__ import annotations

from typing import Iterator

from onnxlint.finding import Finding, Severity
from onnxlint.graph import GraphView, Node
from onnxlint.registry import ModelContext, TargetRule
from onnxlint.targets import chip_outcomes


class TargetCpuFallback(TargetRule):
    code = "TG003"
    name = "target-cpu-fallback"
    summary = "Operators the toolkit places on the CPU for this chip, splitting the graph between NPU and CPU"
    severity = Severity.WARNING

    def skip_reason(self, ctx: ModelContext) -> str | None:
        reason = super().skip_reason(ctx)
        if reason is None and not chip_outcomes(ctx.settings.toolkit.version, ctx.settings.target):
            return f"no probe data for {ctx.settings.target} with {ctx.settings.toolkit.label}"
        return reason

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        facts, chip = ctx.settings.toolkit, ctx.settings.target
        outcomes = chip_outcomes(facts.version, chip)
        graph = ctx.main
        folded = constant_foldable(graph)
        # Only operators that every probe case put on the CPU: where cases disagree, the outcome depends on
        # attributes or shapes, and this rule does not guess which case a node is.
        on_cpu = [node for node in graph.nodes if node.domain == "" and node.name not in folded
                  and set(outcomes.get(node.op_type, ())) == {"cpu"}]
        if not on_cpu:
            return
        islands = cpu_islands(graph, on_cpu)
        by_op: dict[str, list[Node]] = {}
        for node in on_cpu:
            by_op.setdefault(node.op_type, []).append(node)
        for op_type, nodes in by_op.items():
            count = f"{len(nodes)} such nodes" if len(nodes) > 1 else f"one, {nodes[0].name}"
            yield self.finding(
                f"{facts.label} places {op_type} on the CPU for {chip} in every form it was probed in, and the "
                f"model has {count}; with the other CPU operators that makes up to {islands} CPU "
                f"island{'s' if islands != 1 else ''} between NPU parts (the build may fuse neighbours)",
                node=nodes[0], related=[(graph, node) for node in nodes[1:]],
                fix=f"Replace {op_type} with operators the {chip} NPU runs, move it into pre/post-processing, "
                    f"or cut the model before it (rknn.load_onnx(outputs=[...]))",
                data={"op_type": op_type, "nodes": [node.name for node in nodes], "cpu_islands": islands,
                      "chip": chip, "toolkit": facts.label})


def constant_foldable(graph: GraphView) -> set[str]:
    """Names of nodes the toolkit folds before compiling: everything computed from constants and from the
    shapes of tensors whose shapes are static."""
    static = set(graph.initializers)
    folded = set()
    for node in graph.nodes:
        if node.op_type == "Shape":
            shape = graph.shape(node.inputs[0])
            computable = shape is not None and all(isinstance(d, int) for d in shape)
        else:
            computable = all(name in static for name in node.inputs if name)
        if computable:
            folded.add(node.name)
            static.update(name for name in node.outputs if name)
    return folded


def cpu_islands(graph: GraphView, on_cpu: list[Node]) -> int:
    """Connected groups of CPU nodes: each is one hand-over from the NPU and back."""
    members = {node.index: node for node in on_cpu}
    parent = {index: index for index in members}

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for node in on_cpu:
        for output in node.outputs:
            for consumer in graph.consumers(output):
                if consumer.index in members:
                    parent[root(consumer.index)] = root(node.index)
    return len({root(index) for index in members})
