from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TypedDict

from onnxlint.checks.op003_model_invalid import dim_probe_skip_reason
from onnxlint.confirm.ort import DynamicSizes, OutputAxisFollows
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.registry import ModelContext, Rule

# Dim names an exporter or onnx invents when nobody named the axis: tf2onnx and onnx's own inference (unk__316),
# paddle2onnx (p2o.DynamicDimension.0, DynamicDimension.0, and <Op>_<n>_o0__d<axis> on outputs) and torch's
# TorchScript exporter when its shape inference gives up (<Op><tensor>_dim_<n>: Concatoutput0_dim_1). torch's
# <tensor>_dynamic_axes_<n> is not among them: it names an axis a person asked to be dynamic (the list form of
# dynamic_axes), and naming it is a one-word fix.
GENERATED_DIM_NAME = re.compile(r"unk__\d+|(p2o\.)?DynamicDimension\.\d+|.+_o\d+__d\d+|[A-Z][A-Za-z0-9]*.*_dim_\d+")


def chosen_by_a_person(name: str | None) -> bool:
    """Whether a dim name was written by someone (in dynamic_axes, an input signature...), not generated."""
    return name is not None and name != "" and GENERATED_DIM_NAME.fullmatch(name) is None


class DynamicDimNameMismatchData(TypedDict):
    axis: int
    declared: str
    computed: str
    input: str
    input_axis: int


def _follows_input(data: DynamicDimNameMismatchData) -> OutputAxisFollows:
    return OutputAxisFollows(data["axis"])


class DynamicDimNameMismatch(Rule):
    code = "IO001"
    name = "dynamic-dim-name-mismatch"
    summary = "An output axis computed from an input's dynamic axis is declared under another name"
    severity = Severity.WARNING
    data_type = DynamicDimNameMismatchData
    confirmer = DynamicSizes(claim=_follows_input)

    def skip_model_reason(self, ctx: ModelContext) -> str | None:
        return dim_probe_skip_reason(ctx)

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        input_shapes = {v.name: v.shape for v in ctx.model.declared_inputs if v.shape is not None}
        for value in ctx.model.declared_outputs:
            for axis, declared in enumerate(value.shape or ()):
                if isinstance(declared, int):
                    continue  # a fixed dim is static-dim-lost's or nobody's business
                source = ctx.dim_probe.source_axis(value.name, axis)
                if source is None:
                    continue
                source_name, source_axis = source
                symbol = input_shapes[source_name][source_axis]
                if not isinstance(symbol, str) or symbol == declared:
                    continue
                if not chosen_by_a_person(symbol) and not chosen_by_a_person(declared):
                    continue  # two names nobody chose: nothing a person promised, and nothing to rename at export
                declared_label = f"'{declared}'" if declared else "an unnamed dim"
                yield self.finding(
                    f"output '{value.name}' axis {axis} is declared as {declared_label} but the graph computes it "
                    f"from input '{source_name}' axis {source_axis} ('{symbol}')",
                    tensor=value.name,
                    fix=f"Give both the same name at export, e.g. dynamic_axes={{'{source_name}': {{{source_axis}: "
                    f"'{symbol}'}}, '{value.name}': {{{axis}: '{symbol}'}}}}",
                    data={
                        "axis": axis,
                        "declared": declared,
                        "computed": symbol,
                        "input": source_name,
                        "input_axis": source_axis,
                    },
                )
