from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from onnxlint.core.finding import Finding, Severity
from onnxlint.core.graph import format_shape
from onnxlint.core.registry import ModelContext, Rule


class NegativeDimData(TypedDict):
    shape: list[int | str | None]
    axes: list[int]


class NegativeDim(Rule):
    code = "IO003"
    name = "negative-dim"
    summary = "A graph input or output declares a negative dim"
    severity = Severity.ERROR
    data_type = NegativeDimData

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for kind, values in (("input", ctx.model.declared_inputs), ("output", ctx.model.declared_outputs)):
            for value in values:
                shape = value.shape or ()
                negative = [axis for axis, dim in enumerate(shape) if isinstance(dim, int) and dim < 0]
                if negative:
                    yield self.finding(
                        f"{kind} '{value.name}' declares {format_shape(value.shape)}: a negative dim at "
                        f"axis {', '.join(map(str, negative))} is not a valid ONNX shape",
                        tensor=value.name,
                        fix="Declare a fixed positive size, or a named symbolic dim (dim_param) for a dynamic axis; "
                        "-1 is a TensorFlow/Keras convention, not ONNX's",
                        data={"shape": list(shape), "axes": negative},
                    )
