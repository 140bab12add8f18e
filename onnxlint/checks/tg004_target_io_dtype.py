from __future__ import annotations

from collections.abc import Iterator
from typing import NotRequired, TypedDict

from onnxlint.confirm.toolkit_build import BuildClaim, BuildFails, Converts, ToolkitBuild
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.model import dtype_name
from onnxlint.core.registry import ModelContext, TargetRule
from onnxlint.rknn.knowledge import element_type_name
from onnxlint.rknn.placement import computes_without_float, read_beyond


class TargetIoDtypeData(TypedDict):
    """An input whose type aborts the build (input, chip), a model with no float tensor whose int8 build aborts
    (input: its first, chip, integer_only), or an input or output whose type the toolkit rewrites (input or
    output, converted_to)."""

    input: NotRequired[str]
    output: NotRequired[str]
    dtype: str
    toolkit: str
    chip: NotRequired[str]
    converted_to: NotRequired[str]
    integer_only: NotRequired[bool]  # no tensor of the model is floating-point: the int8 build aborts


def _build_claim(data: TargetIoDtypeData) -> BuildClaim:
    if "converted_to" in data:
        return Converts(data["dtype"])
    return BuildFails(words=("signal", "Dtype", "type"))  # how the toolkit words an abort


class TargetIoDtype(TargetRule):
    code = "TG004"
    name = "target-io-dtype"
    summary = "A model input or output has an element type the toolkit refuses for this chip, or rewrites"
    severity = Severity.ERROR  # a warning or info where the toolkit converts the type instead
    data_type = TargetIoDtypeData
    confirmer = ToolkitBuild(claim=_build_claim)

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        yield from self._aborts(ctx)
        yield from self._refusals(ctx)
        yield from self._conversions(ctx)

    def _aborts(self, ctx: ModelContext) -> Iterator[Finding]:
        facts, chip = ctx.target.toolkit, ctx.target.chip
        inputs = ctx.model.declared_inputs
        integer_model = facts.integer_model_abort
        if (
            inputs
            and chip in integer_model["chips"]
            and computes_without_float(ctx.main, ctx.static_tensors, frozenset(integer_model["computed_in_float"]))
        ):
            # What the toolkit dies of here, whatever the input types: the input aborts below never come into play.
            first = inputs[0]
            yield self.finding(
                f"no input, output or tensor computed in between is floating-point: {facts.label}'s int8 build for "
                f"{chip} has nothing to quantize, prints '{integer_model['message']}' and the process aborts",
                tensor=first.name,
                fix="Keep integer-only pre- and post-processing in the application, or give the model the float "
                "computation it exists for: the int8-only chips calibrate and quantize floating-point tensors",
                data={
                    "input": first.name,
                    "dtype": dtype_name(first.elem_type),
                    "chip": chip,
                    "toolkit": facts.label,
                    "integer_only": True,
                },
            )
            return
        for value in inputs:
            dtype = dtype_name(value.elem_type)
            message = facts.input_dtype_aborts.get(dtype, {}).get(chip)
            if message is None or not read_beyond(ctx.main, value.name, facts.integer_input_readers):
                continue  # not measured to fail on this chip, or read only by CPU kernels that take it
            death = (
                f"prints '{message.format(name=value.name)}' and the process aborts"
                if message
                else f"kills the process with {facts.input_abort_signals[dtype]} and no error line"
            )
            yield self.finding(
                f"input '{value.name}' is {dtype}: {facts.label}'s build for {chip} {death}",
                tensor=value.name,
                fix="Export with a float32 input and leave the uint8-to-float conversion to the runtime: rknn "
                "inputs accept uint8 pixel data (rknn_input.type = RKNN_TENSOR_UINT8) and convert it, with "
                "mean_values/std_values from rknn.config, on the way in",
                data={"input": value.name, "dtype": dtype, "chip": chip, "toolkit": facts.label},
            )

    def _refusals(self, ctx: ModelContext) -> Iterator[Finding]:
        facts = ctx.target.toolkit
        ports = [("input", value) for value in ctx.model.declared_inputs]
        ports += [("output", value) for value in ctx.model.declared_outputs]
        for kind, value in ports:
            dtype = element_type_name(value.elem_type)
            refusal = facts.io_dtype_refusals.get(dtype)
            if refusal is None or kind not in refusal["ports"]:
                continue
            yield self.finding(
                f"{kind} '{value.name}' is {dtype}: {facts.label} cannot build the model ('{refusal['message']}')",
                tensor=value.name,
                fix=f"Export the {kind} as float32 (or int64/bool for indices and masks), converting at the "
                "model's edge in the application",
                data={kind: value.name, "dtype": dtype, "toolkit": facts.label},
            )

    def _conversions(self, ctx: ModelContext) -> Iterator[Finding]:
        facts = ctx.target.toolkit
        ports = [("input", index, value) for index, value in enumerate(ctx.model.declared_inputs)]
        ports += [("output", index, value) for index, value in enumerate(ctx.model.declared_outputs)]
        for kind, index, value in ports:
            dtype = dtype_name(value.elem_type)
            conversion = facts.io_dtype_conversions.get(dtype)
            if conversion is None:
                continue
            refusal = conversion.get("data_refusal")
            consequence = (
                f"; {dtype} data is then refused ('{refusal.format(index=index)}')"
                if refusal and kind == "input"
                else ""
            )
            yield self.finding(
                f"{kind} '{value.name}' is {dtype}: {facts.label} rewrites it to {conversion['to']} at load_onnx "
                f"('{conversion['message']}'), so the converted model takes and returns {conversion['to']}"
                f"{consequence}",
                tensor=value.name,
                severity=Severity(conversion["severity"]),
                fix=f"Export the {kind} as {conversion['to']}, or make the application "
                f"{'feed' if kind == 'input' else 'read'} {conversion['to']} buffers",
                data={kind: value.name, "dtype": dtype, "converted_to": conversion["to"], "toolkit": facts.label},
            )
