"""`onnxlint quant`: predict int8 accuracy loss before the build, name the layers, propose the fix.

1. Samples (dataset.py) -> float statistics of every quantized tensor (calibrate.py).
2. Ranges per quantized_algorithm (scheme.py); one fake-quant model per quantized_method (simulate.py).
3. End-to-end: the model with every layer quantized against the float model, cosine per output, on the
   evaluation sample (held back from calibration when there are two samples or more, as the toolkit's
   accuracy_analysis is run on an image it did not calibrate on).
4. Per layer: only that layer quantized (its weights and its output): the cosine of its own output
   ("single", as accuracy_analysis reports it) and the worst model output cosine, which ranks the layers.
5. Proposal (proposal.py): the best (algorithm, method) of the six, then the greedy hybrid.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from onnxlint.confirm.metrics import cosine_similarity
from onnxlint.quant import proposal as plan
from onnxlint.quant import saturation
from onnxlint.quant.calibrate import collect, float_tensors
from onnxlint.quant.dataset import input_shapes, load_samples, split_samples
from onnxlint.quant.layers import Layer, constants, find_layers
from onnxlint.quant.scheme import ALGORITHMS, INT8, INT16, METHODS, asymmetric, choose_range, fake_quant
from onnxlint.quant.simulate import Settings, Simulator
from onnxlint.settings.table import BY_NAME, DEFAULT_SEED

SCHEMA_VERSION = 1
REFERENCE_BUDGET = 2 * 2**30  # bytes of float reference tensors kept for the per-layer "single" cosine


@dataclass
class LayerResult:
    layer: Layer
    single_cosine: float | None  # the layer's own output, only it quantized, float inputs
    output_cosine: float  # worst model output with only this layer quantized
    reason: str
    stats: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tensor": self.layer.tensor,
            "node": self.layer.node,
            "op_type": self.layer.op_type,
            "predicted_single_cosine": self.single_cosine,
            "predicted_output_cosine": self.output_cosine,
            "reason": self.reason,
            "weights": self.layer.weight,
            "range": {key: float(value) for key, value in self.stats.items()},
        }


@dataclass
class QuantReport:
    model: str
    chip: str | None
    config: dict[str, str]
    samples: dict[str, Any]
    outputs: list[dict[str, Any]]
    layers: list[LayerResult]
    configs: list[dict[str, Any]]
    proposal: dict[str, Any]
    layer_count: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "model": self.model,
            "target": self.chip,
            "config": self.config,
            "samples": self.samples,
            "outputs": self.outputs,
            "layer_count": self.layer_count,
            "layers": [layer.to_dict() for layer in self.layers],
            "configs": self.configs,
            "proposal": self.proposal,
            "seconds": round(self.seconds, 2),
            "notes": self.notes,
        }


def analyze(
    model_path: str | Path,
    chip: str | None = None,
    datasets: Sequence[str] = (),
    inputs: dict[str, np.ndarray] | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    input_size: Sequence[int] | None = None,
    algorithm: str = BY_NAME["algorithm"].default,
    method: str = BY_NAME["method"].default,
    seed: int = DEFAULT_SEED,
    top: int = BY_NAME["top"].default,
    max_float_layers: int = BY_NAME["max-float-layers"].default,
    goal: float = BY_NAME["goal"].default,
    progress=None,
) -> QuantReport:
    started = time.perf_counter()
    model = onnx.load(str(model_path))
    shapes = input_shapes(model, input_size)
    samples = load_samples(model, datasets, shapes, mean, std, seed)
    calibration, evaluation, held = split_samples(samples, inputs)
    floats = float_tensors(model, calibration[0])
    layers = find_layers(model, floats, quantize_inputs=True)
    _progress(progress, "calibrating", 0, 1)
    stats = collect(model, [layer.tensor for layer in layers], calibration)
    simulator = Simulator(model, layers)
    count = len(layers)
    ones, zeros = np.ones(count), np.zeros(count)
    feeding = _feeding_layers(model, layers)
    useful = saturation.useful_ranges(model, layers, floats)
    concats = {layer.index for layer in layers if layer.op_type.split("+")[0] == "Concat"}

    def quantized_ranges(algo: str, bits=INT8) -> list[tuple[float, float]]:
        chosen = [choose_range(stats[layer.tensor].hist, algo, bits) for layer in layers]
        return saturation.clip_ranges(layers, chosen, useful, feeding, concats)

    params = {algo: [asymmetric(*r) for r in quantized_ranges(algo)] for algo in ALGORITHMS}
    if samples.images:  # the toolkit quantizes a normalised image input over the range 0-255 pixels map to
        for algo in ALGORITHMS:
            for layer in layers:
                if layer.is_input:
                    params[algo][layer.index] = asymmetric(*_pixel_range(mean, std))

    reference = [simulator.run(method, Settings(params[algorithm], zeros, zeros), feed) for feed in evaluation]
    names = simulator.outputs

    def cosines(settings: Settings, meth: str) -> dict[str, float]:
        runs = [simulator.run(meth, settings, feed) for feed in evaluation]
        return {name: _cosine([r[i] for r in reference], [r[i] for r in runs]) for i, name in enumerate(names)}

    # Every (algorithm, method) the toolkit offers, all layers quantized.
    configs: list[dict[str, Any]] = []
    for algo in ALGORITHMS:
        for meth in METHODS:
            result = cosines(Settings(params[algo], ones, ones), meth)
            configs.append(
                {
                    "quantized_algorithm": algo,
                    "quantized_method": meth,
                    "outputs": result,
                    "worst_cosine": plan.worst(result),
                }
            )
    chosen = next(c for c in configs if c["quantized_algorithm"] == algorithm and c["quantized_method"] == method)
    best = max(configs, key=lambda c: (round(c["worst_cosine"], 6), c is chosen))

    # One layer at a time.
    single = _single_layers(
        simulator, layers, params[algorithm], method, evaluation[0], reference[0], names, stats, progress
    )
    ranked = sorted(range(count), key=lambda k: (single[k][1], k))
    joins = _joins(model, layers, stats)
    results = [
        LayerResult(
            layers[k],
            single[k][0],
            single[k][1],
            _reason(layers[k], stats, joins, method, useful.get(k), params[algorithm][k]),
            stats[layers[k].tensor].summary(),
        )
        for k in ranked[:top]
    ]

    # The proposal: best config, then the greedy hybrid on top of it.
    best_params = params[best["quantized_algorithm"]]
    readers: list[list[int]] = [[] for _ in layers]
    for k, read in enumerate(feeding):
        for j in read:
            readers[j].append(k)
    best_method = best["quantized_method"]
    int16_ranges: list[tuple[float, float]] = []  # computed on the first int16 move

    def evaluate(changes: dict[int, str]) -> float:
        mask, wmask, chosen_params = ones.copy(), ones.copy(), list(best_params)
        for k, action in changes.items():
            if action == "float16":
                # Its output is converted back to int8 for any int8 layer that reads it.
                wmask[k] = 0
                if all(changes.get(j) == "float16" for j in readers[k]):
                    mask[k] = 0
            elif action == "split":
                mask[k] = 0
            elif action == "int16":
                # rknn-toolkit2 2.5.0 computes an int16 layer with int16 weights, then converts its output back
                # to int8 for the int8 layers that read it (exDataConvert <tensor>__int8 in accuracy_analysis):
                # weights exact at this precision, the activation stays int8 unless it is a model output.
                wmask[k] = 0
                if layers[k].graph_output:
                    int16_ranges[:] = int16_ranges or quantized_ranges(best["quantized_algorithm"], INT16)
                    chosen_params[k] = asymmetric(*int16_ranges[k], INT16)
        return plan.worst(cosines(Settings(chosen_params, mask, wmask), best_method))

    # Rank again under the best config when it differs (the candidates the greedy tries first).
    _progress(progress, "searching the hybrid proposal", 0, 1)
    greedy = plan.greedy(
        ranked,
        evaluate,
        best["worst_cosine"],
        lambda k: plan.moves_for(layers[k], chip, k in joins, readers[k]),
        goal=goal,
        max_layers=max_float_layers,
    )
    proposal = _proposal(chip, best, layers, greedy, evaluate, ones)
    notes = list(samples.notes)
    if samples.generated:
        notes.append("no --dataset: " + samples.source)
    notes.append(held)
    if samples.images:
        notes.append(
            "image inputs are quantized to int8 over the range that pixels 0-255 normalise to, as the toolkit does"
        )
    sample_info = {
        "source": samples.source,
        "generated": samples.generated,
        "images": samples.images,
        "calibration": len(calibration),
        "evaluation": len(evaluation),
        "input_shapes": {k: list(v) for k, v in shapes.items()},
        "mean": list(mean) if mean else None,
        "std": list(std) if std else None,
    }
    outputs = [
        {
            "name": name,
            "predicted_cosine": chosen["outputs"][name],
            "range": stats[name].summary() if name in stats else None,
        }
        for name in names
    ]
    return QuantReport(
        model=str(model_path),
        chip=chip,
        config={"quantized_algorithm": algorithm, "quantized_method": method, "quantized_dtype": "w8a8"},
        samples=sample_info,
        outputs=outputs,
        layers=results,
        configs=configs,
        proposal=proposal,
        layer_count=count,
        seconds=time.perf_counter() - started,
        notes=notes,
    )


def _pixel_range(mean, std) -> tuple[float, float]:
    means, stds = list(mean or [0.0]), list(std or [1.0])
    count = max(len(means), len(stds))
    means, stds = means * (count // len(means)), stds * (count // len(stds))
    ends = [(0.0 - m) / s for m, s in zip(means, stds)] + [(255.0 - m) / s for m, s in zip(means, stds)]
    return min(ends), max(ends)


def _cosine(reference: list[np.ndarray], actual: list[np.ndarray]) -> float:
    ref = np.concatenate([np.asarray(r, dtype=np.float64).ravel() for r in reference])
    act = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in actual])
    finite = np.isfinite(ref) & np.isfinite(act)
    return cosine_similarity(ref[finite], act[finite])


def _single_layers(
    simulator: Simulator, layers: list[Layer], params, method, feed, reference, names, stats, progress
) -> list[tuple[float | None, float]]:
    count = len(layers)
    # Float values of each layer's tensor, for its own cosine (inputs: computed in numpy).
    produced = [layer.tensor for layer in layers if not layer.is_input]
    zeros = np.zeros(count)
    floats: dict[str, np.ndarray] = {}
    size = 0
    for start in range(0, len(produced), 64):
        chunk = produced[start : start + 64]
        values = simulator.run(method, Settings(params, zeros, zeros), feed, chunk)[len(names) :]
        wanted = dict(zip([n for n in chunk if n not in names], values))
        wanted.update({n: reference[names.index(n)] for n in chunk if n in names})
        size += sum(v.nbytes for v in wanted.values())
        if size > REFERENCE_BUDGET:
            floats = {}
            break
        floats.update(wanted)
    feeding = _feeding_layers(simulator.model, layers)
    out = []
    for k, layer in enumerate(layers):
        mask = zeros.copy()
        mask[k] = 1
        runs = simulator.run(method, Settings(params, mask, mask), feed)
        output_cos = min(_cosine([reference[i]], [runs[i]]) for i in range(len(names)))
        if layer.is_input:
            value = np.asarray(feed[layer.tensor])
            own = _cosine([value], [fake_quant(value, params[k])])
        elif floats:
            # As accuracy_analysis's "single": float inputs quantized to the layer's int8 inputs, then the
            # layer's weights and output.
            mask[feeding[k]] = 1
            wmask = zeros.copy()
            wmask[k] = 1
            runs = simulator.run(method, Settings(params, mask, wmask), feed, [layer.tensor])
            own = _cosine(
                [floats[layer.tensor]], [runs[names.index(layer.tensor)] if layer.tensor in names else runs[-1]]
            )
        else:
            own = None
        out.append((own, output_cos))
        _progress(progress, "quantizing one layer at a time", k + 1, count)
    return out


def _feeding_layers(model: onnx.ModelProto, layers: list[Layer]) -> list[list[int]]:
    """For each layer, the layers whose quantized tensors it reads (through value-moving nodes)."""
    from onnxlint.quant.layers import PASSTHROUGH

    index = {layer.tensor: layer.index for layer in layers}
    producers = {out: n for n in model.graph.node for out in n.output if out}
    starts = {}
    for i, node in enumerate(model.graph.node):
        from onnxlint.quant.layers import node_name

        starts[node_name(node, i)] = node

    def source(name: str, depth: int = 0) -> list[int]:
        if name in index:
            return [index[name]]
        node = producers.get(name)
        if node is None or depth > 50 or node.op_type not in PASSTHROUGH or not node.input:
            return []
        return source(node.input[0], depth + 1)

    feeding = []
    for layer in layers:
        node = starts.get(layer.node)
        inputs = [] if node is None or layer.is_input else list(node.input)
        feeding.append(sorted({k for name in inputs for k in source(name) if k != layer.index}))
    return feeding


def _joins(model: onnx.ModelProto, layers: list[Layer], stats) -> dict[int, list[tuple[str, float, float]]]:
    """Layers that join inputs of very different ranges (Concat, Add, Sum) in one int8 tensor:
    {layer index: [(input, lo, hi), ...]}."""
    found = {}
    producers = {out: n for n in model.graph.node for out in n.output}
    range_of = _range_of(model, layers, stats)
    for layer in layers:
        node = producers.get(layer.tensor) if layer.op_type.split("+")[0] in ("Concat", "Add", "Sum") else None
        if node is None or node.op_type not in ("Concat", "Add", "Sum"):
            continue
        ranges = [(name, *range_of[name]) for name in node.input if name in range_of]
        if plan.mixes_ranges([(lo, hi) for _, lo, hi in ranges]):
            found[layer.index] = ranges
    return found


def _range_of(model, layers, stats) -> dict[str, tuple[float, float]]:
    """(lo, hi) of quantized tensors, and of tensors that only pass one through (Reshape, Slice...)."""
    from onnxlint.quant.layers import PASSTHROUGH

    ranges = {layer.tensor: (stats[layer.tensor].lo, stats[layer.tensor].hi) for layer in layers}
    for name, value in constants(model).items():
        if value.dtype.kind == "f" and value.size:
            ranges[name] = (float(value.min()), float(value.max()))
    for node in model.graph.node:
        if node.op_type in PASSTHROUGH and node.input and node.input[0] in ranges:
            for out in node.output:
                ranges.setdefault(out, ranges[node.input[0]])
    return ranges


LOSSY_OPS = {
    "Softmax": "Softmax input",
    "Exp": "Exp",
    "Log": "Log",
    "Pow": "Pow",
    "Div": "Div",
    "LayerNormalization": "LayerNorm",
    "Sigmoid": "Sigmoid output",
    "HardSigmoid": "HardSigmoid output",
}


def _reason(layer: Layer, stats, joins, method: str, useful, params) -> str:
    s = stats[layer.tensor]
    summary = s.summary()
    clipped = useful is not None and (useful[0][0] > s.lo or useful[0][1] < s.hi)
    step = params.scale if clipped else (max(s.hi, 0.0) - min(s.lo, 0.0)) / 255
    parts = []
    if clipped:
        parts.append(
            f"quantized over [{params.lo:.3g}, {params.hi:.3g}] (observed [{s.lo:.3g}, {s.hi:.3g}]): the toolkit "
            f"clips it to the inputs where the {useful[1]} reading it does not saturate, so its own cosine counts "
            "values the activation discards"
        )
    if layer.index in joins:
        ranges = joins[layer.index]
        narrow = min(ranges, key=lambda r: r[2] - r[1])
        levels = (narrow[2] - narrow[1]) / step if step > 0 else 0
        parts.append(
            f"{layer.op_type.split('+')[0]} joins ranges "
            + ", ".join(f"[{lo:.3g}, {hi:.3g}]" for _, lo, hi in ranges)
            + f" in one int8 tensor: '{narrow[0]}' keeps about {levels:.0f} of 256 levels"
        )
    if summary["range_ratio"] > 4 and not clipped:
        parts.append(
            f"outliers: the range [{s.lo:.3g}, {s.hi:.3g}] is {summary['range_ratio']:.0f}x the central "
            f"99.8% [{summary['p0_1']:.3g}, {summary['p99_9']:.3g}] (int8 step {step:.3g})"
        )
    if layer.weight is not None and method == "layer":
        parts.append("per-layer weight quantization: one scale for every output channel")
    op = layer.op_type.split("+")[0]
    if op in LOSSY_OPS:
        parts.append(f"{LOSSY_OPS[op]} in int8")
    if layer.graph_output:
        parts.append("model output")
    if not parts:
        parts.append(f"int8 step {step:.3g} over [{s.lo:.3g}, {s.hi:.3g}]")
    return "; ".join(parts)


def _proposal(chip, best, layers, greedy: plan.Greedy, evaluate, ones) -> dict[str, Any]:
    steps = [
        {
            "tensor": layers[s.layer].tensor,
            "node": layers[s.layer].node,
            "op_type": layers[s.layer].op_type,
            "action": s.action,
            "predicted_cosine": s.predicted_cosine,
        }
        for s in greedy.steps
    ]
    float_layers = [name for s in greedy.steps if s.action == "float16" for name in layers[s.layer].toolkit_names]
    config = {"quantized_algorithm": best["quantized_algorithm"], "quantized_method": best["quantized_method"]}
    args = ", ".join(f"{key}={value!r}" for key, value in config.items())
    integer_only = chip in plan.FLOAT_CHIPS_EXCLUDED
    proposal = {
        "config": config,
        "rknn_config": f"rknn.config(target_platform={chip!r}, {args})" if chip else f"rknn.config({args})",
        "config_predicted_cosine": best["worst_cosine"],
        "integer_only": integer_only,
        "float16_layers": float_layers,
        "int16_layers": [layers[s.layer].tensor for s in greedy.steps if s.action == "int16"],
        "split_outputs": [layers[s.layer].tensor for s in greedy.steps if s.action == "split"],
        "steps": steps,
        "predicted_cosine": greedy.final,
        "quantization_cfg": plan.quantization_cfg(layers, greedy.steps),
    }
    if float_layers:
        proposal["caveat"] = (
            "not proven on every model: built with rknn-toolkit2 2.5.0, float16 spans chosen this way beat "
            "build(auto_hybrid=True) on PP-PicoDet (13 float16 layers against 227) but did not raise PP-OCRv4 rec "
            "(0.9956 -> 0.9949; README, 'Measured against the toolkit'). The keys are the ONNX tensors where the "
            "toolkit's fused layers end: check them against the names hybrid_quantization_step1's "
            ".quantization.cfg lists"
        )
    if integer_only and proposal["int16_layers"]:
        proposal["caveat"] = (
            f"int16 layers: rknn-toolkit2 2.5.0's hybrid_quantization_step2 accepted an int16 "
            f"layer for {chip} in onnxlint's check (PP-OCR cls, rv1106, simulator only, not on a "
            f"board); the toolkit converts an int16 layer's output back to int8 for int8 layers "
            f"that read it, and the prediction assumes so"
        )
    return proposal


def _progress(progress, what: str, done: int, total: int) -> None:
    if progress is not None:
        progress(what, done, total)
