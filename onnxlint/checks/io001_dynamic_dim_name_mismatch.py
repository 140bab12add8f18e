from __future__ import annotations

from typing import Iterator

from onnxlint.finding import Finding, Severity
from onnxlint.registry import ModelContext, Rule


class DynamicDimNameMismatch(Rule):
    code = "IO001"
    name = "dynamic-dim-name-mismatch"
    summary = "An output axis computed from an input's dynamic axis is declared under another name"
    severity = Severity.WARNING
    confirmation = "sizes"

    def skip_reason(self, ctx: ModelContext) -> str | None:
        return ctx.dim_probe_skip_reason

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        input_shapes = {v.name: v.shape for v in ctx.model.declared_inputs}
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
                declared_label = f"'{declared}'" if declared else "an unnamed dim"
                yield self.finding(
                    f"output '{value.name}' axis {axis} is declared as {declared_label} but the graph computes it "
                    f"from input '{source_name}' axis {source_axis} ('{symbol}')",
                    tensor=value.name,
                    fix=f"Give both the same name at export, e.g. dynamic_axes={{'{source_name}': {{{source_axis}: "
                        f"'{symbol}'}}, '{value.name}': {{{axis}: '{symbol}'}}}}",
                    data={"axis": axis, "declared": declared, "computed": symbol, "input": source_name,
                          "input_axis": source_axis})
