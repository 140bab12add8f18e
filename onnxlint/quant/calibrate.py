"""Per-tensor statistics of the float model over the calibration samples (what the toolkit's calibration sees).

Two passes through onnxruntime: the first records each quantized tensor's minimum and maximum, the second a
2048-bin histogram between them, from which percentiles, the outlier share and the 'mmse'/'kl_divergence'
ranges are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import onnx

from onnxlint.quant.scheme import Histogram

BINS = 2048
CHUNK = 128  # tensors exposed per run: bounds memory on big models


@dataclass
class TensorStats:
    tensor: str
    hist: Histogram

    @property
    def lo(self) -> float:
        return self.hist.lo

    @property
    def hi(self) -> float:
        return self.hist.hi

    def summary(self) -> dict[str, float]:
        p_lo, p_hi = self.hist.percentile(0.1), self.hist.percentile(99.9)
        return {
            "min": self.lo,
            "max": self.hi,
            "p0_1": p_lo,
            "p99_9": p_hi,
            "range_ratio": (self.hi - self.lo) / (p_hi - p_lo) if p_hi > p_lo else 1.0,
            "outlier_ratio": outlier_ratio(self.hist),
        }


def outlier_ratio(hist: Histogram) -> float:
    """Share of values further than half the central (0.1-99.9 percentile) span outside that span."""
    total = hist.counts.sum()
    if total == 0 or hist.hi <= hist.lo:
        return 0.0
    p_lo, p_hi = hist.percentile(0.1), hist.percentile(99.9)
    margin = (p_hi - p_lo) / 2
    centers = hist.centers
    return float(hist.counts[(centers < p_lo - margin) | (centers > p_hi + margin)].sum() / total)


def session(model: onnx.ModelProto, optimized: bool = True):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = (
        onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        if optimized
        else onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def exposed(model: onnx.ModelProto, names: Iterable[str]) -> onnx.ModelProto:
    """A copy of `model` with `names` added as graph outputs (type left to onnxruntime)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    present = {value.name for value in copy.graph.output} | {value.name for value in copy.graph.input}
    copy.graph.output.extend(onnx.ValueInfoProto(name=name) for name in names if name not in present)
    return copy


def dependent_tensors(model: onnx.ModelProto) -> list[str]:
    """Node outputs of the main graph that depend on a graph input, in topological order."""
    initializers = {t.name for t in model.graph.initializer}
    live = {value.name for value in model.graph.input if value.name not in initializers}
    order = []
    for node in model.graph.node:
        if any(name in live for name in node.input):
            for name in node.output:
                if name:
                    live.add(name)
                    order.append(name)
    return order


def float_tensors(model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    """The input-dependent tensors that are floating point, with their shapes, by one run on `feeds`."""
    names = dependent_tensors(model)
    found = {
        name: np.shape(array) for name, array in feeds.items() if np.issubdtype(np.asarray(array).dtype, np.floating)
    }
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        values = session(exposed(model, chunk), optimized=False).run(chunk, dict(feeds))
        found.update(
            (name, np.shape(value))
            for name, value in zip(chunk, values)
            if np.issubdtype(np.asarray(value).dtype, np.floating)
        )
    return found


def collect(
    model: onnx.ModelProto, tensors: Sequence[str], feeds: Sequence[Mapping[str, np.ndarray]]
) -> dict[str, TensorStats]:
    """Statistics of `tensors` (graph inputs included) over `feeds`."""
    lows = dict.fromkeys(tensors, np.inf)
    highs = dict.fromkeys(tensors, -np.inf)
    for values in _runs(model, tensors, feeds):
        for name, value in values.items():
            finite = value[np.isfinite(value)]
            if finite.size:
                lows[name] = min(lows[name], float(finite.min()))
                highs[name] = max(highs[name], float(finite.max()))
    counts = {name: np.zeros(BINS, dtype=np.int64) for name in tensors}
    for values in _runs(model, tensors, feeds):
        for name, value in values.items():
            lo, hi = lows[name], highs[name]
            if hi > lo:
                finite = value[np.isfinite(value)]
                counts[name] += np.histogram(finite, bins=BINS, range=(lo, hi))[0]
            elif np.isfinite(lo):
                counts[name][0] += value.size
    return {
        name: TensorStats(
            name,
            Histogram(
                lows[name] if np.isfinite(lows[name]) else 0.0,
                highs[name] if np.isfinite(highs[name]) else 0.0,
                counts[name],
            ),
        )
        for name in tensors
    }


def _runs(model: onnx.ModelProto, tensors: Sequence[str], feeds: Sequence[Mapping[str, np.ndarray]]):
    """For each chunk of tensors and each sample: {tensor: float64 values}."""
    inputs = {value.name for value in model.graph.input}
    produced = [name for name in tensors if name not in inputs]
    for feed in feeds:
        yield {name: np.asarray(feed[name], dtype=np.float64) for name in tensors if name in inputs}
    for start in range(0, len(produced), CHUNK):
        chunk = produced[start : start + CHUNK]
        runner = session(exposed(model, chunk), optimized=False)
        for feed in feeds:
            yield dict(zip(chunk, (np.asarray(v, dtype=np.float64) for v in runner.run(chunk, dict(feed)))))
