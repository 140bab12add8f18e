from __future__ import annotations

from typing import Iterator

from onnxlint.finding import Finding, Severity
from onnxlint.registry import ModelContext, TargetRule
from onnxlint.model import dtype_name


class TargetIoDtype(TargetRule):
    code = "TG004"
    name = "target-io-dtype"
    summary = "A model input has an element type that makes the toolkit's build abort for this chip"
    severity = Severity.ERROR

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        facts, chip = ctx.settings.toolkit, ctx.settings.target
        for value in ctx.model.declared_inputs:
            dtype = dtype_name(value.elem_type)
            message = facts.input_dtype_aborts.get(dtype, {}).get(chip)
            if message is None:
                continue  # not measured to fail on this chip: nothing to claim
            yield self.finding(
                f"input '{value.name}' is {dtype}: {facts.label}'s build for {chip} prints "
                f"'{message.format(name=value.name)}' and the process aborts",
                tensor=value.name,
                fix="Export with a float32 input and leave the uint8-to-float conversion to the runtime: rknn "
                    "inputs accept uint8 pixel data (rknn_input.type = RKNN_TENSOR_UINT8) and convert it, with "
                    "mean_values/std_values from rknn.config, on the way in",
                data={"input": value.name, "dtype": dtype, "chip": chip, "toolkit": facts.label})
