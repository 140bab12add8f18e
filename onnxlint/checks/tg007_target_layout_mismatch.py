from __future__ import annotations

from collections.abc import Iterator
from typing import NotRequired, TypedDict

from onnxlint.analysis.layout import channel_axis, format_values, in_graph_normalization
from onnxlint.confirm.confirmer import PerFinding
from onnxlint.confirm.ort import DoubleNormalization
from onnxlint.confirm.toolkit_build import BuildFails, ToolkitBuild
from onnxlint.core.finding import Finding, Severity
from onnxlint.core.graph import format_shape
from onnxlint.core.registry import ModelContext, Rule, ScriptContext

LAYOUT_CHANNEL_AXIS = {"nchw": 1, "nhwc": 3}
# Rockchip's compiler op list (V2.3.2, §5.1): with more than 4 channels only mean[0] and std[0] are applied.
MAX_PER_CHANNEL_PREPROCESSING = 4


class TargetLayoutMismatchData(TypedDict):
    input: str
    # a layout the deployment feeds that is not the graph's
    shape: NotRequired[list[int | str | None]]
    graph_layout: NotRequired[str]
    stated_layout: NotRequired[str]
    # a mean/std value count
    option: NotRequired[str]
    values: NotRequired[list[float]]
    channels: NotRequired[int]
    # double normalisation
    graph_mean: NotRequired[list[float]]
    graph_std: NotRequired[list[float]]
    deployment_mean: NotRequired[list[float]]
    deployment_std: NotRequired[list[float]]


def _is_double_normalization(data: TargetLayoutMismatchData) -> bool:
    return "graph_mean" in data


def _deployment_values(data: TargetLayoutMismatchData) -> tuple[list[float], list[float]]:
    return data["deployment_mean"], data["deployment_std"]


def _value_count_claim(data: TargetLayoutMismatchData) -> BuildFails | None:
    """A value count other than the channels' is refused by the build; a build cannot see layouts, nor the
    runtime applying only the first of more than four values."""
    if "option" in data and len(data["values"]) != data["channels"]:
        return BuildFails(words=("mean_values", "std_values"))
    return None


class TargetLayoutMismatch(Rule):
    code = "TG007"
    name = "target-layout-mismatch"
    summary = (
        "The deployment's mean/std or input layout conflicts with the graph: double normalisation, "
        "a channel count the values do not match, or data fed in the other layout"
    )
    severity = Severity.ERROR
    data_type = TargetLayoutMismatchData
    confirmer = PerFinding(
        when=_is_double_normalization,
        then=DoubleNormalization(values=_deployment_values),
        otherwise=ToolkitBuild(claim=_value_count_claim, deployment_preprocessing=True),
    )

    def skip_reason(self, ctx: ModelContext | ScriptContext) -> str | None:
        settings = ctx.settings
        if settings.mean is None and settings.std is None and settings.input_layout is None:
            return "no --mean, --std or --input-layout given"
        return None

    def check_model(self, ctx: ModelContext) -> Iterator[Finding]:
        for index, value in enumerate(ctx.model.declared_inputs):
            if value.shape is None or len(value.shape) != 4:
                continue  # mean/std and layouts apply to 4-D image inputs
            yield from self._layout(ctx, value.name, value.shape)
            yield from self._value_counts(ctx, index, value.name, value.shape)
            yield from self._double_normalization(ctx, value.name, value.shape)

    def _layout(self, ctx: ModelContext, name: str, shape) -> Iterator[Finding]:
        stated = ctx.settings.input_layout
        in_graph = channel_axis(shape)
        if stated is None or in_graph is None or LAYOUT_CHANNEL_AXIS[stated] == in_graph:
            return
        if ctx.settings.target is not None and in_graph == 1:
            return  # the RKNN runtime converts NHWC data for NCHW models itself (rknn_input.fmt, data_format)
        graph_layout = "NCHW" if in_graph == 1 else "NHWC"
        yield self.finding(
            f"the deployment feeds {stated.upper()} data, but input '{name}' is {graph_layout} "
            f"{format_shape(shape)}: pixels and channels get mixed up",
            tensor=name,
            fix=f"Feed {graph_layout} data (transpose in pre-processing), or re-export the model with "
            f"a {stated.upper()} input",
            data={"input": name, "shape": list(shape), "graph_layout": graph_layout.lower(), "stated_layout": stated},
        )

    def _value_counts(self, ctx: ModelContext, index: int, name: str, shape) -> Iterator[Finding]:
        facts = ctx.settings.target.toolkit if ctx.settings.target else None
        axis: int | None
        if facts is not None:
            axis = facts.preprocessing_channel_axis  # the toolkit's own view, whatever the graph's layout
        else:  # the graph's own channel axis; a stated layout that contradicts it is reported by _layout
            axis = channel_axis(shape) or LAYOUT_CHANNEL_AXIS.get(ctx.settings.input_layout or "")
        channels = shape[axis] if axis is not None else None
        if not isinstance(channels, int):
            return
        for option, values in (("mean_values", ctx.settings.mean), ("std_values", ctx.settings.std)):
            if values is None:
                continue
            # RKNN wants exactly one value per channel (measured); other toolchains also broadcast a single one.
            if len(values) != channels and (facts is not None or len(values) != 1):
                refusal = (
                    facts.preprocessing_refusal.format(
                        option=option, values=format_values(values), index=index, channels=channels
                    )
                    if facts
                    else None
                )
                reason = (
                    f"{facts.label} takes dim {axis} of input '{name}' {format_shape(shape)} as its "
                    f"channels and refuses the model: '{refusal}'"
                    if facts
                    else f"input '{name}' {format_shape(shape)} has {channels} channels"
                )
                yield self.finding(
                    f"{option} has {len(values)} value{'s' if len(values) != 1 else ''} {format_values(values)}, "
                    f"but {reason}",
                    tensor=name,
                    fix=f"Give one {option} entry per channel; if the graph input is NHWC, re-export it as NCHW "
                    f"(the toolkit counts channels on dim 1)"
                    if facts
                    else f"Give one {option} entry per channel",
                    data={"input": name, "option": option, "values": list(values), "channels": channels},
                )
            elif channels > MAX_PER_CHANNEL_PREPROCESSING and len(set(values)) > 1:
                yield self.finding(
                    f"{option} {format_values(values)} differ per channel, but input '{name}' has {channels} "
                    f"channels and with more than {MAX_PER_CHANNEL_PREPROCESSING} the runtime applies only the first "
                    f"value to all of them (Rockchip compiler op list, model input limits)",
                    tensor=name,
                    severity=Severity.WARNING,
                    fix="Normalise inside the model or in pre-processing, and set this option to a single value "
                    "repeated",
                    data={"input": name, "option": option, "values": list(values), "channels": channels},
                )

    def _double_normalization(self, ctx: ModelContext, name: str, shape) -> Iterator[Finding]:
        mean, std = ctx.settings.mean, ctx.settings.std
        if not any(v != 0 for v in mean or ()) and not any(v != 1 for v in std or ()):
            return  # the runtime is told to leave the data alone
        found = in_graph_normalization(ctx.main, name, shape)
        if found is None:
            return
        yield self.finding(
            f"input '{name}' is already normalised inside the graph (by "
            f"{', '.join(n.name for n in found.nodes)}: mean {format_values(found.mean)}, std "
            f"{format_values(found.std)}), and the deployment normalises it again with mean "
            f"{format_values(mean or [0])}, std {format_values(std or [1])}: the network sees the wrong values",
            node=found.nodes[0],
            tensor=name,
            fix="Keep one of the two: mean_values=[[0, 0, 0]], std_values=[[1, 1, 1]] in the deployment, or "
            "remove the normalisation from the graph and keep it in the deployment (the NPU applies it for free)",
            data={
                "input": name,
                "graph_mean": found.mean,
                "graph_std": found.std,
                "deployment_mean": list(mean or []),
                "deployment_std": list(std or []),
            },
        )
