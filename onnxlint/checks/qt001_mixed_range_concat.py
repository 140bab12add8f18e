from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NotRequired, TypedDict

from onnxlint.checks._ranges import constant_scale, static_range
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.graph import GraphView, Node
from onnxlint.core.registry import ModelContext, TargetRule

# An input the graph bounds to a span this small (probabilities, [0, 1]) ...
NARROW_SPAN = 2.0
# ... joined with one at least this much wider, or scaled by a constant at least this large (a stride in pixels).
WIDER = 16.0
SCALE = 8.0


class MixedRangeConcatData(TypedDict):
    narrow_input: str
    narrow_range: list[float]
    wide_input: str
    wide_span: float | None
    scaled_by: str | None
    assumes: str
    # a cause repeated at several Concats (one per detection level): how many, their names, each one's data
    count: NotRequired[int]
    places: NotRequired[list[str]]
    concats: NotRequired[list[dict]]


class MixedRangeConcat(TargetRule):
    """Runs with --target: the int8 scheme it assumes is rknn-toolkit2's."""

    code = "QT001"
    name = "mixed-range-concat"
    summary = (
        "A Concat joins a bounded input (scores in 0-1) with a much wider one (boxes in pixels) in one int8 tensor"
    )
    severity = Severity.WARNING
    data_type = MixedRangeConcatData

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        float16_refused = "/".join(ctx.target.toolkit.int8_only_chips)  # chips whose toolkit refuses float16 layers
        for graph in ctx.graphs:
            # One cause, one finding: the same join repeated per detection level (the same narrow range, widened
            # the same way) is reported once, at its first Concat, with the others as related locations.
            causes: dict[tuple, list[MixedJoin]] = {}
            for node in graph.nodes_of("Concat"):
                join = _mixed_join(graph, node)
                if join is not None:
                    causes.setdefault((join.narrow_range, join.scaled_by is None), []).append(join)
            for joins in causes.values():
                yield self._finding(graph, joins, float16_refused)

    def _finding(self, graph, joins: list[MixedJoin], float16_refused: str) -> Finding:
        first = joins[0]
        lo, hi = first.narrow_range
        if len(joins) == 1:
            levels = (
                f"about {256 * (hi - lo) / first.wide_span:.0f} of 256 levels"
                if first.wide_span
                else "a few of the 256 levels"
            )
            message = (
                f"Concat {first.node.name} joins '{first.narrow_input}' in [{lo:.4g}, {hi:.4g}] "
                f"with '{first.wide_input}' ({first.how})"
            )
        else:
            names = [join.node.name for join in joins]
            others = len(names) - 1
            listed = ", ".join(names[1 : 1 + NAMED]) + (f" and {others - NAMED} more" if others > NAMED else "")
            # The joins of one cause are all bounded (each with a span) or all scaled (each with a scale).
            if first.wide_span:
                spans = [join.wide_span for join in joins if join.wide_span is not None]
                widest = max(spans)
                fewest, most = (f"{256 * (hi - lo) / span:.0f}" for span in (widest, min(spans)))
                widened = f"the graph bounds to a span of up to {widest:.4g}"
                levels = f"about {fewest if fewest == most else f'{fewest} to {most}'} of 256 levels"
            else:
                factors = sorted({join.scale for join in joins if join.scale is not None})
                widened = "a constant multiplies by " + (
                    f"{factors[0]:.4g}"
                    if len(factors) == 1
                    else ", ".join(f"{f:.4g}" for f in factors[:-1]) + f" or {factors[-1]:.4g}"
                )
                levels = "a few of the 256 levels"
            message = (
                f"Concat {first.node.name} and {others} more like it ({listed}) each join an input "
                f"in [{lo:.4g}, {hi:.4g}] with one {widened}"
            )
        data = first.data()
        if len(joins) > 1:
            data |= {
                "count": len(joins),
                "places": [join.node.name for join in joins],
                "concats": [{"node": join.node.name, **join.data()} for join in joins],
            }
        return self.finding(
            f"{message}: quantized as one asymmetric int8 tensor per layer (rknn-toolkit2's w8a8 activations), "
            f"the narrow input keeps {levels}",
            graph=graph,
            node=first.node,
            related=[(graph, join.node) for join in joins[1:]],
            fix="Cut the model before this Concat (rknn.load_onnx(outputs=[...]) with each input as its own "
            "output, joined in post-processing), so each part gets its own int8 range; or keep the "
            f"Concat in float16 (custom_quantize_layers in the .quantization.cfg; not on {float16_refused}). "
            "'onnxlint quant' measures the loss",
            data=data | {"assumes": "asymmetric int8 per-tensor activations (w8a8)"},
        )


# How many of a grouped finding's other Concats its message names.
NAMED = 3


@dataclass(frozen=True)
class MixedJoin:
    """A Concat that joins a bounded input with a much wider one."""

    node: Node
    narrow_input: str
    narrow_range: tuple[float, float]
    wide_input: str
    how: str  # how the wide input is wide, in words
    wide_span: float | None  # the span the graph bounds it to, or None when a constant scales it
    scaled_by: str | None  # the Mul that scales it
    scale: float | None  # by how much

    def data(self) -> dict:
        return {
            "narrow_input": self.narrow_input,
            "narrow_range": list(self.narrow_range),
            "wide_input": self.wide_input,
            "wide_span": self.wide_span,
            "scaled_by": self.scaled_by,
        }


def _mixed_join(graph: GraphView, node: Node) -> MixedJoin | None:
    ranges = {name: static_range(graph, name) for name in dict.fromkeys(node.inputs)}
    narrow = [(name, r) for name, r in ranges.items() if r is not None and r[1] - r[0] <= NARROW_SPAN]
    if not narrow:
        return None
    span = max(r[1] - r[0] for _, r in narrow)
    narrow_input, narrow_range = narrow[0]
    for name, r in ranges.items():
        if r is not None and r[1] - r[0] >= WIDER * max(span, 1e-6):
            return MixedJoin(
                node,
                narrow_input,
                narrow_range,
                name,
                f"the graph bounds it to [{r[0]:.4g}, {r[1]:.4g}]",
                r[1] - r[0],
                None,
                None,
            )
        scale = constant_scale(graph, name) if r is None else None
        if scale is not None and scale[0] >= SCALE:
            return MixedJoin(
                node,
                narrow_input,
                narrow_range,
                name,
                f"{scale[1]} multiplies it by up to {scale[0]:.4g}",
                None,
                scale[1],
                scale[0],
            )
    return None
