"""`--confirm`: attach numeric evidence to each finding whose rule declares a confirmation.

A rule declares how it is confirmed by naming a confirmer (`Rule.confirmation`); the confirmers are here, so
that rules never import onnxruntime. Confirmation never adds or drops findings: it sets `Finding.evidence`
({backend, verdict: confirmed | refuted | inconclusive | skipped, metrics, detail}). Refuted findings stay in
the report, marked, and do not count toward --fail-on.
"""

from __future__ import annotations

import copy
import dataclasses
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import onnx

from onnxlint.core import sandbox
from onnxlint.confirm.inputs import DEFAULT_SEED, random_inputs
from onnxlint.confirm.metrics import Metrics, Tolerance, compare
from onnxlint.core.errors import internal_error
from onnxlint.core.finding import Evidence, Finding, InternalError, Report
from onnxlint.analysis.layout import channel_axis
from onnxlint.core.registry import LintSettings, Rule

CONFIRMED, REFUTED, INCONCLUSIVE, SKIPPED = "confirmed", "refuted", "inconclusive", "skipped"
PIXEL_RANGE = 255.0  # image data as a camera delivers it, before any normalisation
REWRITTEN_OPS = {"NM001": "BatchNormalization", "NM002": "Dropout"}


@dataclass(frozen=True)
class ConfirmOptions:
    seed: int = DEFAULT_SEED
    inputs: Mapping[str, np.ndarray] | None = None  # the user's arrays, by input name
    reference: Mapping[str, np.ndarray] | None = None  # outputs the user saved (e.g. from PyTorch), by name
    tolerance: Tolerance = field(default_factory=Tolerance)
    toolkit_timeout: int = 600
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)  # of each child process that runs the model


def ort_label() -> str:
    import onnxruntime

    return f"onnxruntime {onnxruntime.__version__}"


class ModelRun:
    """One model under confirmation: its proto, its inputs, and cached onnxruntime and toolkit runs."""

    def __init__(self, path: str, settings: LintSettings, options: ConfirmOptions):
        self.path = path
        self.settings = settings
        self.options = options
        self.proto = onnx.load(path)  # with external data: confirmation runs the model
        self._builds: dict[str, object] = {}

    @property
    def ort_label(self) -> str:
        return ort_label()

    def inputs(self, sizes: Mapping[tuple[str, int], int] | None = None):
        return random_inputs(self.proto, seed=self.options.seed, sizes=sizes, given=self.options.inputs)

    def run(self, model: onnx.ModelProto, feeds: Mapping[str, np.ndarray], outputs: list[str] | None = None,
            optimized: bool = False):
        return run_model(model, feeds, outputs, optimized)

    def toolkit_build(self, config: Mapping[str, object] | None = None):
        """The rknn-toolkit2 build of this model for the target chip (cached per config)."""
        from onnxlint.rknn import toolkit

        key = repr(sorted((config or {}).items()))
        if key not in self._builds:
            self._builds[key] = toolkit.build(Path(self.path), self.settings.target, verbose=True,
                                           timeout=self.options.toolkit_timeout, config=dict(config or {}),
                                           inputs=self.inputs())
        return self._builds[key]


def run_model(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray], outputs: list[str] | None = None,
              optimized: bool = False) -> list[np.ndarray]:
    """Outputs of `model` in onnxruntime: all graph outputs, or the tensors `outputs` names (intermediate ones
    are exposed as graph outputs for the run). Graph optimisations off, or all on."""
    return exposed_runner(model, outputs or (), optimized)(feeds, outputs)


def exposed_runner(model: onnx.ModelProto, exposed: Iterable[str], optimized: bool = False
                   ) -> Callable[[Mapping[str, np.ndarray], list[str] | None], list[np.ndarray]]:
    """A session of `model` with the tensors `exposed` names added to its graph outputs, as a function
    (feeds, names or None for all) -> values. The model is left as it was, and not copied: the outputs are added
    for serialising and taken off again. onnxruntime's memory arena is off, so memory a run used goes back."""
    import onnxruntime

    present = {value.name for value in model.graph.output}
    hidden = [name for name in dict.fromkeys(exposed) if name not in present]
    count = len(model.graph.output)
    model.graph.output.extend(onnx.ValueInfoProto(name=name) for name in hidden)
    try:
        serialized = model.SerializeToString()
    finally:
        del model.graph.output[count:]
    session_options = onnxruntime.SessionOptions()
    session_options.graph_optimization_level = (onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL if optimized
                                                else onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL)
    session_options.log_severity_level = 3
    session_options.enable_cpu_mem_arena = False
    session_options.enable_mem_pattern = False
    session = onnxruntime.InferenceSession(serialized, session_options, providers=["CPUExecutionProvider"])
    del serialized
    names = {i.name for i in session.get_inputs()}

    def run(feeds: Mapping[str, np.ndarray], outputs: list[str] | None = None) -> list[np.ndarray]:
        return session.run(outputs, {k: v for k, v in feeds.items() if k in names})

    return run


Confirmer = Callable[[ModelRun, Finding], Evidence]


def confirm_reports(reports: Iterable[Report], rules: Iterable[Rule], settings: LintSettings,
                    options: ConfirmOptions = ConfirmOptions()) -> list[Report]:
    """The reports with evidence on every finding (those of rules without a confirmation: skipped)."""
    how = {rule.code: rule.confirmation for rule in rules}
    confirmed = []
    for report in reports:
        if report.error or not report.findings or report.path.endswith(".py"):
            confirmed.append(report)
            continue
        evidence, crashes = _confirm_model(report, how, settings, options)
        findings = tuple(dataclasses.replace(f, evidence=evidence[index]) if index in evidence else f
                         for index, f in enumerate(report.findings))
        confirmed.append(dataclasses.replace(report, findings=findings,
                                             internal_errors=(*report.internal_errors, *crashes)))
    return confirmed


def _confirm_model(report: Report, how: Mapping[str, str | None], settings: LintSettings,
                   options: ConfirmOptions) -> tuple[dict[int, Evidence], list[InternalError]]:
    """({finding index: evidence} for the findings without evidence yet, the confirmers that crashed). The
    confirmations of one model run in one child process under options.limits; evidence streams back as each
    completes, so that a run stopped by a limit leaves inconclusive only the findings it had not reached."""
    evidence = {index: Evidence("onnxlint", SKIPPED, detail="this rule has no numeric confirmation")
                for index, finding in enumerate(report.findings)
                if finding.evidence is None and how.get(finding.code) is None}
    pending = [(index, finding, how[finding.code]) for index, finding in enumerate(report.findings)
               if finding.evidence is None and how.get(finding.code) is not None]
    crashes: list[InternalError] = []
    if not pending:
        return evidence, crashes

    def received(index: int, found: Evidence, crash: InternalError | None) -> None:
        evidence[index] = found
        if crash is not None:
            crashes.append(crash)

    try:
        sandbox.run(confirm_in_child, report.path, settings, options, pending, limits=options.limits,
                    on_emit=received)
        return evidence, crashes
    except sandbox.LimitExceeded as exc:
        stopped = f"the confirmation run {exc.reason}"
    except Exception as exc:  # a model that takes the run down leaves its findings unconfirmed, never the lint
        stopped = f"the confirmation failed: {type(exc).__name__}: {_one_line(str(exc))}"
    for index, _, confirmation in pending:
        evidence.setdefault(index, Evidence(confirmation, INCONCLUSIVE, detail=stopped))
    return evidence, crashes


def confirm_in_child(path: str, settings: LintSettings, options: ConfirmOptions,
                     pending: list[tuple[int, Finding, str]]) -> None:
    """In the sandbox's child: emit (index, evidence, internal error or None) for each pending finding, as each
    is confirmed."""
    run = ModelRun(path, settings, options)
    for index, finding, confirmation in pending:
        sandbox.emit(index, *_evidence(run, finding, confirmation))


def _evidence(run: ModelRun, finding: Finding, confirmation: str) -> tuple[Evidence, InternalError | None]:
    """The confirmer's evidence. One that breaks says so and never takes the lint down; when what broke is
    onnxlint's own code rather than onnxruntime, onnx or the toolkit refusing the model, it is also an internal
    error (with its traceback), since it is a bug to fix."""
    try:
        return CONFIRMERS[confirmation](run, finding), None
    except Exception as exc:
        if sandbox.out_of_memory(exc):
            over = f"the confirmation {run.options.limits.over_memory}"
            return Evidence(confirmation, INCONCLUSIVE, detail=over), None
        failed = Evidence(confirmation, INCONCLUSIVE, detail=f"the confirmation failed: {type(exc).__name__}: "
                                                             f"{_one_line(str(exc))}")
        if type(exc).__module__.split(".")[0] in ("onnxruntime", "onnx"):
            return failed, None
        return failed, internal_error(f"{finding.code} confirmation", exc, run.path)


# --- onnxruntime confirmations ----------------------------------------------------------------------------

def ort_refuses_load(run: ModelRun, finding: Finding) -> Evidence:
    """op-not-in-opset, deprecated-op, model-invalid: onnxruntime refuses the model, and says why."""
    import onnxruntime

    session_options = onnxruntime.SessionOptions()
    session_options.log_severity_level = 3
    try:
        onnxruntime.InferenceSession(run.proto.SerializeToString(), session_options,
                                     providers=["CPUExecutionProvider"])
    except Exception as exc:
        if sandbox.out_of_memory(exc):
            raise  # the limit refused it, not onnxruntime
        return Evidence(run.ort_label, CONFIRMED, detail=f"onnxruntime refuses the model: {_one_line(str(exc))}")
    try:
        run.run(run.proto, run.inputs())
    except Exception as exc:
        if sandbox.out_of_memory(exc):
            raise
        return Evidence(run.ort_label, INCONCLUSIVE, detail=f"onnxruntime loads the model but the run fails: "
                                                            f"{_one_line(str(exc))}")
    if finding.code == "OP001":
        return Evidence(run.ort_label, REFUTED, detail="onnxruntime loads and runs the model")
    # The checker's rejection stands whatever onnxruntime accepts; other runtimes and toolkits use the checker.
    return Evidence(run.ort_label, INCONCLUSIVE, detail="onnxruntime loads and runs the model; onnx.checker's "
                                                        "verdict stands")


def inference_mode_rewrite(run: ModelRun, finding: Finding) -> Evidence:
    """bn-training-mode, dropout-training-mode: the same input through the model as exported and through the
    graph rewritten to inference mode; training-mode nodes change the result."""
    if finding.location.graph != "main":
        return Evidence(run.ort_label, INCONCLUSIVE, detail="the node is inside a subgraph; only the main graph "
                                                            "is rewritten")
    rewritten = copy.deepcopy(run.proto)
    consumed = {name for node in rewritten.graph.node for name in node.input} | \
        {value.name for value in rewritten.graph.output}
    changed = 0
    op_type = REWRITTEN_OPS[finding.code]
    for node in rewritten.graph.node:
        if node.op_type != op_type or node.domain not in ("", "ai.onnx"):
            continue
        if any(name in consumed for name in node.output[1:]):
            return Evidence(run.ort_label, INCONCLUSIVE, detail=f"{node.name} has extra outputs in use; the graph "
                                                                "cannot be rewritten to inference mode")
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
    worst = _worst(exported, inference, run.options.tolerance)
    verdict = REFUTED if worst.within(run.options.tolerance) else CONFIRMED
    detail = (f"seed {run.options.seed}, inputs {_shapes(feeds)}: outputs as exported vs with every {op_type} "
              f"({changed}) in inference mode")
    if finding.code == "NM002":
        again = run.run(run.proto, feeds)
        repeat = _worst(exported, again, run.options.tolerance)
        detail += f"; two runs of the exported model {'agree' if repeat.within(run.options.tolerance) else 'differ'}" \
                  f" (max abs {repeat.max_abs:.3g})"
    return Evidence(run.ort_label, verdict, worst.to_dict(), detail)


def sizes_that_run(run: ModelRun, finding: Finding) -> Evidence:
    """Dynamic dims: run with every dynamic input dim at 1 and at 2 (or the probe's size) and report what runs
    and which output dims come out."""
    dynamic = _dynamic_dims(run)
    if not dynamic:
        return Evidence(run.ort_label, INCONCLUSIVE, detail="the model declares no dynamic input dims")
    probe_size = finding.data.get("probe_size")
    # Two runs: batch axes at 1 and 2, other axes (image sides, sequence lengths) at 64 and 128; IO007's second
    # run uses the size its finding was made with.
    plans = {"first": {dim: 1 if dim[1] == 0 else 64 for dim in dynamic},
             "second": {dim: probe_size or (2 if dim[1] == 0 else 128) for dim in dynamic}}
    shapes, failures = {}, {}
    for label, sizes in plans.items():
        try:  # seeded random data even with --inputs: the sizes are the point
            outputs = run.run(run.proto, random_inputs(run.proto, seed=run.options.seed, sizes=sizes))
        except Exception as exc:
            if sandbox.out_of_memory(exc):
                raise  # a size that does not fit the memory limit says nothing about the model
            failures[label] = _one_line(str(exc))
            continue
        shapes[label] = {value.name: list(array.shape) for value, array in zip(run.proto.graph.output, outputs)}
    detail = "; ".join(f"with {_sizes(plans[label])}: " + (str(shapes[label]) if label in shapes
                                                           else f"fails ({failures[label]})") for label in plans)
    verdict = INCONCLUSIVE
    if finding.code == "IO007":
        verdict = CONFIRMED if "second" in failures else REFUTED
    elif len(shapes) == 2 and finding.location.tensor in shapes["first"]:
        small, large = shapes["first"][finding.location.tensor], shapes["second"][finding.location.tensor]
        if finding.code == "IO002":
            verdict = CONFIRMED if all(small[a] == large[a] for a in finding.data.get("axes", [])) else REFUTED
        elif finding.code == "IO001":
            axis = finding.data["axis"]
            verdict = CONFIRMED if small[axis] != large[axis] else REFUTED  # it follows the input's size
    return Evidence(run.ort_label, verdict, detail=detail)


def double_normalization(run: ModelRun, finding: Finding) -> Evidence:
    """target-layout-mismatch (double normalisation): the same image through the model once as the graph
    expects it and once normalised first by the deployment's mean/std, as the runtime would."""
    name = finding.data.get("input") or finding.location.tensor
    if finding.code == "TG007" and "graph_mean" not in finding.data:
        return toolkit_verdict(run, finding)
    # TG007 names the deployment's values; for LY002 the suspected second pass applies the graph's own values.
    deployment_mean = finding.data.get("deployment_mean", finding.data.get("mean_values"))
    deployment_std = finding.data.get("deployment_std", finding.data.get("std_values"))
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
    worst = _worst(once, twice, run.options.tolerance)
    verdict = REFUTED if worst.within(run.options.tolerance) else CONFIRMED
    return Evidence(run.ort_label, verdict, worst.to_dict(),
                    f"seed {run.options.seed}, input '{name}' {list(image.shape)} in 0-255: outputs normalised once "
                    f"(by the graph) vs twice (mean {deployment_mean}, std {deployment_std} applied first, as a "
                    f"deployment configured with them would)")


def layout_swap(run: ModelRun, finding: Finding) -> Evidence:
    """nhwc-input: the same image fed as the graph expects it (NHWC) and as an application that already
    converted it to NCHW would hand over the buffer; the metrics show what the wrong layout does."""
    name = finding.location.tensor
    feeds = run.inputs()
    image = feeds[name]
    wrong = np.ascontiguousarray(image.transpose(0, 3, 1, 2)).reshape(image.shape)  # NCHW bytes, NHWC shape
    right_out = run.run(run.proto, feeds)
    wrong_out = run.run(run.proto, {**feeds, name: wrong})
    worst = _worst(right_out, wrong_out, run.options.tolerance)
    verdict = REFUTED if worst.within(run.options.tolerance) else CONFIRMED
    return Evidence(run.ort_label, verdict, worst.to_dict(),
                    f"seed {run.options.seed}, input '{name}' {list(image.shape)}: outputs for the image in NHWC vs "
                    f"the same pixels laid out as NCHW in the same buffer")


def anchors_decode(run: ModelRun, finding: Finding) -> Evidence:
    """anchors-mismatch: decode the head's box sizes with the graph's anchors and with the deployment's
    (YOLOv5/v7: wh = (2 sigmoid(t))^2 * anchor) and report how far the boxes move (IoU of same-centre boxes)."""
    from onnxlint.core.graph import build_graphs
    from onnxlint.analysis.heads import model_heads
    from onnxlint.core.model import load_model

    loaded = load_model(run.path)
    heads = [h for h in model_heads(loaded, build_graphs(loaded)[0]) if h.anchors_px]
    if not heads:
        return Evidence(run.ort_label, INCONCLUSIVE, detail="no head with anchors to decode")
    head = heads[0]
    graph_anchors = np.asarray(finding.data["graph_anchors"], np.float64).reshape(-1, head.na, 2)
    deployed = np.asarray(finding.data["deployment_anchors"], np.float64)
    if deployed.size != graph_anchors.size:
        return Evidence(run.ort_label, CONFIRMED, detail=f"the deployment gives {deployed.size // 2} anchors for "
                                                         f"{graph_anchors.size // 2} in the graph: boxes cannot be "
                                                         f"decoded alike")
    deployed = deployed.reshape(graph_anchors.shape)
    raw = run.run(run.proto, run.inputs(), head.rknn_outputs)
    ious = []
    for level, tensor in enumerate(raw):
        t = tensor.reshape(tensor.shape[0], head.na, -1, *tensor.shape[2:])[:, :, 2:4]  # tw, th per anchor
        scale = (2.0 / (1.0 + np.exp(-t.astype(np.float64)))) ** 2
        shape = (1, head.na, 2) + (1,) * (scale.ndim - 3)
        wh_graph = scale * graph_anchors[level].reshape(shape)
        wh_deployed = scale * deployed[level].reshape(shape)
        inter = np.minimum(wh_graph[:, :, 0], wh_deployed[:, :, 0]) * np.minimum(wh_graph[:, :, 1], wh_deployed[:, :, 1])
        union = wh_graph[:, :, 0] * wh_graph[:, :, 1] + wh_deployed[:, :, 0] * wh_deployed[:, :, 1] - inter
        ious.append((inter / union).ravel())
    iou = np.concatenate(ious)
    metrics = {"mean_iou": float(iou.mean()), "min_iou": float(iou.min())}
    verdict = CONFIRMED if metrics["mean_iou"] < 0.99 else REFUTED
    return Evidence(run.ort_label, verdict, metrics,
                    f"seed {run.options.seed}: box sizes decoded from the {head.family} head's outputs with the "
                    f"graph's anchors vs the deployment's: mean IoU {metrics['mean_iou']:.3f} (same centres)")


def head_cut(run: ModelRun, finding: Finding) -> Evidence:
    """yolo-decode-in-graph: cut the model at the suggested tensors, run the cut, and check its outputs equal the
    full model's tensors of the same names; with rknn-toolkit2 and a target, run the cut in its simulator too."""
    cut_names = list(finding.data["rknn_outputs"])
    inputs = [value.name for value in run.proto.graph.input
              if value.name not in {t.name for t in run.proto.graph.initializer}]
    with tempfile.TemporaryDirectory(prefix="onnxlint-cut-") as folder:
        full_path, cut_path = Path(folder) / "full.onnx", Path(folder) / "cut.onnx"
        onnx.save(run.proto, str(full_path))
        onnx.utils.extract_model(str(full_path), str(cut_path), inputs, cut_names)
        cut = onnx.load(str(cut_path))
        feeds = run.inputs()
        reference = run.run(run.proto, feeds, cut_names)
        cut_outputs = run.run(cut, feeds)
        worst = _worst(reference, cut_outputs, run.options.tolerance)
        if not worst.within(run.options.tolerance):
            return Evidence(run.ort_label, REFUTED, worst.to_dict(), "the cut's outputs differ from the full "
                                                                     "model's tensors of the same names")
        detail = (f"seed {run.options.seed}: the model cut at {cut_names} gives the full model's head tensors "
                  f"exactly in onnxruntime")
        from onnxlint.rknn import toolkit

        if run.settings.target is None or toolkit.toolkit_python() is None:
            needs = "--target" if run.settings.target is None else f"rknn-toolkit2 ({toolkit.toolkit_missing()})"
            return Evidence(run.ort_label, CONFIRMED, worst.to_dict(),
                            detail + f"; the RKNN simulator check needs {needs}")
        if run.settings.target in toolkit.QUANTIZED_ONLY:
            return Evidence(run.ort_label, CONFIRMED, worst.to_dict(),
                            detail + f"; {run.settings.target} builds only quantized, and the simulator check "
                                     f"is an fp16 build")
        try:
            simulated = toolkit.simulate(cut_path, run.settings.target, [], feeds,
                                      timeout=run.options.toolkit_timeout)
        except Exception as exc:
            return Evidence(run.ort_label, CONFIRMED, worst.to_dict(),
                            detail + f"; the simulator run failed: {_one_line(str(exc))}")
    fp16 = Tolerance(min_cosine=0.999)
    npu = _worst(cut_outputs, simulated, fp16)
    backend = f"{run.ort_label} + {toolkit.installed_label()} simulator ({run.settings.target})"
    verdict = CONFIRMED if npu.within(fp16) else INCONCLUSIVE
    return Evidence(backend, verdict, npu.to_dict(),
                    detail + f"; the simulator's fp16 build of the cut gives cosine {npu.cosine:.5f} against it")


# --- rknn-toolkit2 confirmations --------------------------------------------------------------------------

def toolkit_verdict(run: ModelRun, finding: Finding) -> Evidence:
    """target-*: build the model for the chip with the real toolkit and compare what it does with the finding."""
    from onnxlint.rknn import toolkit

    label = toolkit.installed_label()
    if label is None:
        return Evidence("rknn-toolkit2", SKIPPED, detail=toolkit.toolkit_missing())
    chip = run.settings.target
    if chip is None:
        return Evidence(label, SKIPPED, detail="building with the toolkit needs --target")
    config = {}
    if finding.code == "TG007":
        config = {key: [list(values)] for key, values in (("mean_values", run.settings.mean),
                                                          ("std_values", run.settings.std)) if values}
    result = run.toolkit_build(config)
    backend = f"{label} ({chip})"
    claim = _toolkit_claim(finding)
    if claim is None:
        return Evidence(backend, SKIPPED, detail="a build does not show this finding")
    if result.failed_stage:
        words = "; ".join(result.error_lines()) or "no error line"
        detail = f"the build fails at {result.failed_stage}: {words}"
        if claim == "fails":
            named = _named_in(finding, result)
            return Evidence(backend, CONFIRMED if named else INCONCLUSIVE,
                            detail=detail if named else detail + " (the message does not name the finding's "
                                                                  "node or cause)")
        return Evidence(backend, INCONCLUSIVE, detail=detail)
    if claim == "fails":
        return Evidence(backend, REFUTED, detail="the build succeeds")
    if claim == "converts":
        message = finding.data.get("converted_to") and run.settings.toolkit.io_dtype_conversions.get(
            finding.data.get("dtype"), {}).get("message", "")
        shown = bool(message) and message.removeprefix("W ") in result.log
        return Evidence(backend, CONFIRMED if shown else REFUTED,
                        detail=f"the build {'prints' if shown else 'does not print'} the conversion message")
    cpu = result.cpu_layers
    shown = ", ".join(f"{layer} x{count}" for layer, count in sorted(cpu.items())) or "none"
    # Confirmed when a predicted layer is on the CPU.
    verdict = CONFIRMED if _expected_cpu_layers(run, finding) & set(cpu) else REFUTED
    return Evidence(backend, verdict, detail=f"the build succeeds; CPU layers: {shown}")


def _toolkit_claim(finding: Finding) -> str | None:
    """What a finding predicts a build will show: "fails", "cpu" (layers on the CPU), "converts" (an I/O type
    rewritten), or None when a build cannot show it."""
    data = finding.data
    if finding.code in ("TG001", "TG002", "TG008"):
        return "fails"
    if finding.code == "TG004":
        return "converts" if "converted_to" in data else "fails"
    if finding.code in ("TG005", "TG006"):
        return "cpu" if data.get("outcome") == "cpu" else "fails"
    if finding.code == "TG003":
        return "cpu"
    if finding.code == "TG007" and "option" in data and len(data.get("values", ())) != data.get("channels"):
        return "fails"  # a mean/std count the toolkit refuses
    return None


# Words the toolkit's messages use for each kind of refusal, when they name no node.
FAILURE_WORDS = {"TG001": ("opset",), "TG002": ("input shape", "dynamic"), "TG004": ("signal", "Dtype", "type"),
                 "TG007": ("mean_values", "std_values")}


def _named_in(finding: Finding, result) -> bool:
    """Whether the failing build's message is about this finding: it names the node or operator, or the
    refusal is of the kind the rule predicts (opset, dynamic shape, dtype, mean/std)."""
    text = " ".join(result.error_lines(limit=10)) + " " + (result.failed_stage or "")
    names = [finding.location.node, finding.location.op_type, *FAILURE_WORDS.get(finding.code, ())]
    rule = finding.data.get("fusion_rule")  # TG008: the toolkit names the fusion rule it died in...
    recorded = (finding.data.get("toolkit_message") or "").split("...")[-1].strip(" '")[-30:]  # ...or says this
    return any(name and name in text for name in names) or bool(rule and f"'{rule}'" in result.log) \
        or bool(recorded and recorded in text)


def _expected_cpu_layers(run: ModelRun, finding: Finding) -> set[str]:
    """Layer names the finding predicts on the CPU: the operator, and the layers its probe case showed."""
    from onnxlint.rknn.placement import chip_knowledge

    expected = set(finding.data.get("missing_cpu_kernels") or ())
    op_type = finding.data.get("op_type") or finding.location.op_type
    if op_type:
        expected.add(op_type)
    facts = run.settings.toolkit
    knowledge = chip_knowledge(facts.version, run.settings.target) if facts else None
    if knowledge is not None:
        case = knowledge.cases.get(finding.data.get("probe_case", "")) or knowledge.baseline.get(op_type or "")
        if case is not None:
            expected |= set(case.cpu_layers)
    return expected


CONFIRMERS: Mapping[str, Confirmer] = {
    "ort-load": ort_refuses_load,
    "inference-mode": inference_mode_rewrite,
    "sizes": sizes_that_run,
    "double-normalization": double_normalization,
    "head-cut": head_cut,
    "layout-swap": layout_swap,
    "anchors-decode": anchors_decode,
    "toolkit-build": toolkit_verdict,
}


def _worst(reference: list[np.ndarray], actual: list[np.ndarray], tolerance: Tolerance) -> Metrics:
    """The metrics of the output pair that agrees least (lowest cosine, then most mismatches)."""
    pairs = [compare(r, a, tolerance) for r, a in zip(reference, actual)]
    return min(pairs, key=lambda m: (m.within(tolerance), m.cosine, -m.mismatch_ratio))


def _batch(run: ModelRun, size: int) -> dict[tuple[str, int], int]:
    return {(name, axis): size for name, axis in _dynamic_dims(run) if axis == 0}


def _dynamic_dims(run: ModelRun) -> list[tuple[str, int]]:
    from onnxlint.confirm.inputs import input_specs

    return [(name, axis) for name, _, shape in input_specs(run.proto)
            for axis, dim in enumerate(shape) if not (isinstance(dim, int) and dim >= 0)]


def _sizes(sizes: Mapping[tuple[str, int], int]) -> str:
    return ", ".join(f"{name}[{axis}]={size}" for (name, axis), size in sorted(sizes.items()))


def _shapes(feeds: Mapping[str, np.ndarray]) -> str:
    return ", ".join(f"{name} {list(array.shape)}" for name, array in feeds.items())


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
