"""Confirmers that run the model in onnxruntime: each compares two runs, or a run with what a finding predicts.

Rules declare them with what to check (`onnxlint.confirm.confirmer`); what one needs from a finding it takes from
a function of the finding's data that the rule gives it.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from onnxlint.analysis.layout import channel_axis
from onnxlint.confirm.confirmer import CONFIRMED, INCONCLUSIVE, REFUTED, Confirmer
from onnxlint.confirm.inputs import input_specs, random_inputs
from onnxlint.confirm.metrics import COSINE_FP16, Metrics, Tolerance, compare
from onnxlint.confirm.runner import ModelRun, one_line
from onnxlint.core import sandbox
from onnxlint.core.finding import Evidence, Finding, Verdict

PIXEL_RANGE = 255.0  # image data as a camera delivers it, before any normalisation


def _tensor(finding: Finding) -> str:
    """The input tensor a finding points at: the rules these confirmers serve always name one."""
    if finding.location.tensor is None:
        raise ValueError(f"a {finding.code} finding names no tensor")
    return finding.location.tensor


@dataclass(frozen=True)
class OrtLoad(Confirmer):
    """onnxruntime refuses the model, and says why. A model it loads and runs refutes the finding when
    `run_refutes`; otherwise (the finding is onnx.checker's) the checker's verdict stands."""

    name = "ort-load"
    run_refutes: bool = False

    def confirm(self, run: ModelRun, finding: Finding) -> Evidence:
        import onnxruntime

        session_options = onnxruntime.SessionOptions()
        session_options.log_severity_level = 3
        try:
            onnxruntime.InferenceSession(
                run.proto.SerializeToString(), session_options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            if sandbox.out_of_memory(exc):
                raise  # the limit refused it, not onnxruntime
            return Evidence(run.ort_label, CONFIRMED, detail=f"onnxruntime refuses the model: {one_line(str(exc))}")
        try:
            run.run(run.proto, run.inputs())
        except Exception as exc:
            if sandbox.out_of_memory(exc):
                raise
            return Evidence(
                run.ort_label,
                INCONCLUSIVE,
                detail=f"onnxruntime loads the model but the run fails: {one_line(str(exc))}",
            )
        if self.run_refutes:
            return Evidence(run.ort_label, REFUTED, detail="onnxruntime loads and runs the model")
        # The checker's rejection stands whatever onnxruntime accepts; other runtimes and toolkits use the checker.
        return Evidence(
            run.ort_label, INCONCLUSIVE, detail="onnxruntime loads and runs the model; onnx.checker's verdict stands"
        )


@dataclass(frozen=True)
class InferenceMode(Confirmer):
    """The same input through the model as exported and through the graph with every `op_type` (BatchNormalization
    or Dropout) rewritten to inference mode; training-mode nodes change the result. With `repeat`, two runs of the
    exported model are compared too (a training-mode Dropout differs from itself)."""

    name = "inference-mode"
    op_type: str
    repeat: bool = False

    def confirm(self, run: ModelRun, finding: Finding) -> Evidence:
        if finding.location.graph != "main":
            return Evidence(
                run.ort_label, INCONCLUSIVE, detail="the node is inside a subgraph; only the main graph is rewritten"
            )
        rewritten = copy.deepcopy(run.proto)
        consumed = {name for node in rewritten.graph.node for name in node.input} | {
            value.name for value in rewritten.graph.output
        }
        changed = 0
        for node in rewritten.graph.node:
            if node.op_type != self.op_type or node.domain not in ("", "ai.onnx"):
                continue
            if any(name in consumed for name in node.output[1:]):
                return Evidence(
                    run.ort_label,
                    INCONCLUSIVE,
                    detail=f"{node.name} has extra outputs in use; the graph cannot be rewritten to inference mode",
                )
            if node.op_type == "BatchNormalization":
                for attribute in node.attribute:
                    if attribute.name == "training_mode":
                        attribute.i = 0
            else:  # inference-mode Dropout is the identity
                node.op_type = "Identity"
                del node.input[1:]
                del node.attribute[:]
            del node.output[1:]
            changed += 1
        feeds = run.inputs(sizes=_batch(run, 2))
        exported = run.run(run.proto, feeds)
        inference = run.run(rewritten, feeds)
        least = worst(exported, inference, run.options.tolerance)
        verdict: Verdict = REFUTED if least.within(run.options.tolerance) else CONFIRMED
        detail = (
            f"seed {run.options.seed}, inputs {_shapes(feeds)}: outputs as exported vs with every "
            f"{self.op_type} ({changed}) in inference mode"
        )
        if self.repeat:
            again = run.run(run.proto, feeds)
            repeat = worst(exported, again, run.options.tolerance)
            detail += (
                f"; two runs of the exported model "
                f"{'agree' if repeat.within(run.options.tolerance) else 'differ'} (max abs {repeat.max_abs:.3g})"
            )
        return Evidence(run.ort_label, verdict, least.to_dict(), detail)


# What a finding about dynamic dims predicts of the model run at two sizes: `holds(shapes, second_fails)` is True or
# False, or None when the runs cannot tell; `shapes` are the finding's tensor's dims at the first and the second
# sizes, None unless both runs gave it.
Shapes = tuple[list[int], list[int]]


@dataclass(frozen=True)
class FailsAtSize:
    """The model runs at its first sizes but not with its dynamic dims at `second_size`."""

    second_size: int

    def holds(self, shapes: Shapes | None, second_fails: bool) -> bool | None:
        return second_fails


@dataclass(frozen=True)
class OutputAxesKeepSize:
    """The finding's output keeps its size on `axes` whatever the inputs' sizes."""

    axes: tuple[int, ...]
    second_size = None

    def holds(self, shapes: Shapes | None, second_fails: bool) -> bool | None:
        return None if shapes is None else all(shapes[0][axis] == shapes[1][axis] for axis in self.axes)


@dataclass(frozen=True)
class OutputAxisFollows:
    """The finding's output changes its size on `axis` with the inputs' sizes."""

    axis: int
    second_size = None

    def holds(self, shapes: Shapes | None, second_fails: bool) -> bool | None:
        return None if shapes is None else shapes[0][self.axis] != shapes[1][self.axis]


SizesClaim = FailsAtSize | OutputAxesKeepSize | OutputAxisFollows


@dataclass(frozen=True)
class DynamicSizes(Confirmer):
    """Run with every dynamic input dim at two sizes (batch axes at 1 and 2, other axes at 64 and 128, or the second
    size the claim names), report what runs and which output dims come out, and judge `claim(finding.data)`."""

    name = "sizes"
    claim: Callable[[Any], SizesClaim]

    def confirm(self, run: ModelRun, finding: Finding) -> Evidence:
        dynamic = _dynamic_dims(run)
        if not dynamic:
            return Evidence(run.ort_label, INCONCLUSIVE, detail="the model declares no dynamic input dims")
        claim = self.claim(finding.data)
        plans = {
            "first": {dim: 1 if dim[1] == 0 else 64 for dim in dynamic},
            "second": {dim: claim.second_size or (2 if dim[1] == 0 else 128) for dim in dynamic},
        }
        shapes, failures = {}, {}
        for label, sizes in plans.items():
            try:  # seeded random data even with --inputs: the sizes are the point
                outputs = run.run(run.proto, random_inputs(run.proto, seed=run.options.seed, sizes=sizes))
            except Exception as exc:
                if sandbox.out_of_memory(exc):
                    raise  # a size that does not fit the memory limit says nothing about the model
                failures[label] = one_line(str(exc))
                continue
            shapes[label] = {value.name: list(array.shape) for value, array in zip(run.proto.graph.output, outputs)}
        detail = "; ".join(
            f"with {_sizes(plans[label])}: " + (str(shapes[label]) if label in shapes else f"fails ({failures[label]})")
            for label in plans
        )
        tensor = finding.location.tensor
        both = (
            (shapes["first"][tensor], shapes["second"][tensor])
            if len(shapes) == 2 and tensor in shapes["first"]
            else None
        )
        holds = claim.holds(both, "second" in failures)
        verdict: Verdict = INCONCLUSIVE if holds is None else CONFIRMED if holds else REFUTED
        return Evidence(run.ort_label, verdict, detail=detail)


@dataclass(frozen=True)
class DoubleNormalization(Confirmer):
    """The same 0-255 image through the model once as the graph expects it and once normalised first by the
    (mean, std) that `values(finding.data)` gives, as a runtime configured with them would; the image is the
    finding's tensor."""

    name = "double-normalization"
    values: Callable[[Any], tuple[Sequence[float], Sequence[float]]]

    def confirm(self, run: ModelRun, finding: Finding) -> Evidence:
        name = _tensor(finding)
        deployment_mean, deployment_std = self.values(finding.data)
        feeds = run.inputs()
        image = (random_inputs(run.proto, seed=run.options.seed)[name] * PIXEL_RANGE).astype(np.float32)
        if run.options.inputs and name in run.options.inputs:
            image = run.options.inputs[name].astype(np.float32)
        axis = channel_axis(image.shape) or 1
        shape = [1] * image.ndim
        shape[axis] = image.shape[axis]
        mean = np.resize(np.asarray(deployment_mean or [0.0], np.float32), shape[axis]).reshape(shape)
        std = np.resize(np.asarray(deployment_std or [1.0], np.float32), shape[axis]).reshape(shape)
        once = run.run(run.proto, {**feeds, name: image})
        twice = run.run(run.proto, {**feeds, name: ((image - mean) / std).astype(np.float32)})
        least = worst(once, twice, run.options.tolerance)
        verdict: Verdict = REFUTED if least.within(run.options.tolerance) else CONFIRMED
        return Evidence(
            run.ort_label,
            verdict,
            least.to_dict(),
            f"seed {run.options.seed}, input '{name}' {list(image.shape)} in 0-255: outputs normalised "
            f"once (by the graph) vs twice (mean {deployment_mean}, std {deployment_std} applied first, "
            f"as a deployment configured with them would)",
        )


@dataclass(frozen=True)
class LayoutSwap(Confirmer):
    """The same image fed as the graph expects it (NHWC, the finding's tensor) and as an application that already
    converted it to NCHW would hand over the buffer; the metrics show what the wrong layout does."""

    name = "layout-swap"

    def confirm(self, run: ModelRun, finding: Finding) -> Evidence:
        name = _tensor(finding)
        feeds = run.inputs()
        image = feeds[name]
        wrong = np.ascontiguousarray(image.transpose(0, 3, 1, 2)).reshape(image.shape)  # NCHW bytes, NHWC shape
        right_out = run.run(run.proto, feeds)
        wrong_out = run.run(run.proto, {**feeds, name: wrong})
        least = worst(right_out, wrong_out, run.options.tolerance)
        verdict: Verdict = REFUTED if least.within(run.options.tolerance) else CONFIRMED
        return Evidence(
            run.ort_label,
            verdict,
            least.to_dict(),
            f"seed {run.options.seed}, input '{name}' {list(image.shape)}: outputs for the image in NHWC "
            f"vs the same pixels laid out as NCHW in the same buffer",
        )


@dataclass(frozen=True)
class AnchorsDecode(Confirmer):
    """Decode the head's box sizes with the graph's anchors and with the deployment's, as `anchors(finding.data)`
    gives them (pixels, level order) (YOLOv5/v7: wh = (2 sigmoid(t))^2 * anchor), and report how far the boxes
    move (IoU of same-centre boxes)."""

    name = "anchors-decode"
    anchors: Callable[[Any], tuple[Sequence, Sequence]]

    def confirm(self, run: ModelRun, finding: Finding) -> Evidence:
        from onnxlint.analysis.heads import model_heads
        from onnxlint.core.graph import build_graphs
        from onnxlint.core.model import load_model

        loaded = load_model(run.path)
        # Anchors are read back only from an anchor-based head, which has its anchors per level (na).
        heads = [(h, h.na) for h in model_heads(loaded, build_graphs(loaded)[0]) if h.anchors_px and h.na]
        if not heads:
            return Evidence(run.ort_label, INCONCLUSIVE, detail="no head with anchors to decode")
        head, na = heads[0]
        in_graph, in_deployment = self.anchors(finding.data)
        graph_anchors = np.asarray(in_graph, np.float64).reshape(-1, na, 2)
        deployed = np.asarray(in_deployment, np.float64)
        if deployed.size != graph_anchors.size:
            return Evidence(
                run.ort_label,
                CONFIRMED,
                detail=f"the deployment gives {deployed.size // 2} anchors "
                f"for {graph_anchors.size // 2} in the graph: boxes "
                f"cannot be decoded alike",
            )
        deployed = deployed.reshape(graph_anchors.shape)
        raw = run.run(run.proto, run.inputs(), head.rknn_outputs)
        ious = []
        for level, tensor in enumerate(raw):
            t = tensor.reshape(tensor.shape[0], na, -1, *tensor.shape[2:])[:, :, 2:4]  # tw, th per anchor
            scale = (2.0 / (1.0 + np.exp(-t.astype(np.float64)))) ** 2
            shape = (1, na, 2) + (1,) * (scale.ndim - 3)
            wh_graph = scale * graph_anchors[level].reshape(shape)
            wh_deployed = scale * deployed[level].reshape(shape)
            inter = np.minimum(wh_graph[:, :, 0], wh_deployed[:, :, 0]) * np.minimum(
                wh_graph[:, :, 1], wh_deployed[:, :, 1]
            )
            union = wh_graph[:, :, 0] * wh_graph[:, :, 1] + wh_deployed[:, :, 0] * wh_deployed[:, :, 1] - inter
            ious.append((inter / union).ravel())
        iou = np.concatenate(ious)
        metrics = {"mean_iou": float(iou.mean()), "min_iou": float(iou.min())}
        verdict: Verdict = CONFIRMED if metrics["mean_iou"] < 0.99 else REFUTED
        return Evidence(
            run.ort_label,
            verdict,
            metrics,
            f"seed {run.options.seed}: box sizes decoded from the {head.family} head's outputs with the "
            f"graph's anchors vs the deployment's: mean IoU {metrics['mean_iou']:.3f} (same centres)",
        )


@dataclass(frozen=True)
class HeadCut(Confirmer):
    """Cut the model at the tensors `outputs(finding.data)` names, run the cut, and check its outputs equal the full
    model's tensors of the same names; with rknn-toolkit2 and a target, run the cut in its simulator too."""

    name = "head-cut"
    outputs: Callable[[Any], Sequence[str]]

    def confirm(self, run: ModelRun, finding: Finding) -> Evidence:
        cut_names = list(self.outputs(finding.data))
        inputs = [
            value.name
            for value in run.proto.graph.input
            if value.name not in {t.name for t in run.proto.graph.initializer}
        ]
        with tempfile.TemporaryDirectory(prefix="onnxlint-cut-") as folder:
            full_path, cut_path = Path(folder) / "full.onnx", Path(folder) / "cut.onnx"
            onnx.save(run.proto, str(full_path))
            onnx.utils.extract_model(str(full_path), str(cut_path), inputs, cut_names)
            cut = onnx.load(str(cut_path))
            feeds = run.inputs()
            reference = run.run(run.proto, feeds, cut_names)
            cut_outputs = run.run(cut, feeds)
            least = worst(reference, cut_outputs, run.options.tolerance)
            if not least.within(run.options.tolerance):
                return Evidence(
                    run.ort_label,
                    REFUTED,
                    least.to_dict(),
                    "the cut's outputs differ from the full model's tensors of the same names",
                )
            detail = (
                f"seed {run.options.seed}: the model cut at {cut_names} gives the full model's head tensors "
                f"exactly in onnxruntime"
            )
            from onnxlint.rknn import toolkit

            if run.settings.target is None or toolkit.toolkit_python() is None:
                needs = "--target" if run.settings.target is None else f"rknn-toolkit2 ({toolkit.toolkit_missing()})"
                return Evidence(
                    run.ort_label, CONFIRMED, least.to_dict(), detail + f"; the RKNN simulator check needs {needs}"
                )
            if run.settings.target.int8_only:
                return Evidence(
                    run.ort_label,
                    CONFIRMED,
                    least.to_dict(),
                    detail + f"; {run.settings.target.chip} builds only quantized, and the simulator check "
                    f"is an fp16 build",
                )
            try:
                simulated = toolkit.simulate(
                    cut_path, run.settings.target.chip, [], feeds, timeout=run.options.toolkit_timeout
                )
            except Exception as exc:
                return Evidence(
                    run.ort_label,
                    CONFIRMED,
                    least.to_dict(),
                    detail + f"; the simulator run failed: {one_line(str(exc))}",
                )
        fp16 = Tolerance(min_cosine=COSINE_FP16)
        npu = worst(cut_outputs, simulated, fp16)
        backend = f"{run.ort_label} + {toolkit.installed_label()} simulator ({run.settings.target.chip})"
        verdict: Verdict = CONFIRMED if npu.within(fp16) else INCONCLUSIVE
        return Evidence(
            backend,
            verdict,
            npu.to_dict(),
            detail + f"; the simulator's fp16 build of the cut gives cosine {npu.cosine:.5f} against it",
        )


def worst(reference: list[np.ndarray], actual: list[np.ndarray], tolerance: Tolerance) -> Metrics:
    """The metrics of the output pair that agrees least (lowest cosine, then most mismatches)."""
    pairs = [compare(r, a, tolerance) for r, a in zip(reference, actual)]
    return min(pairs, key=lambda m: (m.within(tolerance), m.cosine, -m.mismatch_ratio))


def _batch(run: ModelRun, size: int) -> dict[tuple[str, int], int]:
    return {(name, axis): size for name, axis in _dynamic_dims(run) if axis == 0}


def _dynamic_dims(run: ModelRun) -> list[tuple[str, int]]:
    return [
        (name, axis)
        for name, _, shape in input_specs(run.proto)
        for axis, dim in enumerate(shape)
        if not (isinstance(dim, int) and dim >= 0)
    ]


def _sizes(sizes: Mapping[tuple[str, int], int]) -> str:
    return ", ".join(f"{name}[{axis}]={size}" for (name, axis), size in sorted(sizes.items()))


def _shapes(feeds: Mapping[str, np.ndarray]) -> str:
    return ", ".join(f"{name} {list(array.shape)}" for name, array in feeds.items())
