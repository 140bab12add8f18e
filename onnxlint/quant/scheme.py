"""The integer schemes rknn-toolkit2 uses, as numpy arithmetic (the one place the quantization math lives).

Activations: asymmetric int8 per tensor (the toolkit's default `quantized_dtype='w8a8'`, formerly
'asymmetric_quantized-8'). The range [lo, hi] is widened to contain 0, then

    scale = (hi - lo) / (qmax - qmin),  zero_point = qmin - round(lo / scale),
    q = clip(round(x / scale) + zero_point, qmin, qmax),  x' = (q - zero_point) * scale

with qmin, qmax = -128, 127 (int16 activations: -32768, 32767). Weights: symmetric int8, zero point 0,
scale = max|w| / 127, per output channel (`quantized_method='channel'`, the default) or per tensor ('layer').

Ranges come from calibration statistics by the toolkit's `quantized_algorithm`:
  * 'normal': the observed minimum and maximum;
  * 'mmse': the clipped range whose quantization error (mean squared, over the calibration histogram) is least;
  * 'kl_divergence': the clipped range whose quantized histogram is closest to the original (KL divergence).
'normal' is the toolkit's documented behaviour; 'mmse' and 'kl_divergence' are approximations of algorithms the
toolkit does not document in detail (a grid search over clipped ranges on the calibration histogram).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onnxlint.rknn.knowledge import QUANTIZED_ALGORITHMS as ALGORITHMS
from onnxlint.rknn.knowledge import QUANTIZED_METHODS as METHODS

INT8 = (-128, 127)
INT16 = (-32768, 32767)
# Fractions of the observed range tried by 'mmse' and 'kl_divergence' (each end clipped independently).
SEARCH_BINS = 512
# 'kl_divergence' compares the histogram with its quantized form, which only means something while each level
# covers several bins (TensorRT keeps at least 128 of 2048 bins for 128 levels): here 4 bins per level, i.e. the
# clipped range keeps at least half the 2048-bin histogram.
KL_MIN_SHARE = 0.5
CLIP_GRID = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.07, 0.05, 0.03)


@dataclass(frozen=True)
class QParams:
    """Asymmetric per-tensor parameters: x' = (clip(round(x / scale) + zero_point, qmin, qmax) - zero_point) * scale."""

    scale: float
    zero_point: int
    qmin: int = INT8[0]
    qmax: int = INT8[1]

    @property
    def lo(self) -> float:
        return (self.qmin - self.zero_point) * self.scale

    @property
    def hi(self) -> float:
        return (self.qmax - self.zero_point) * self.scale


def asymmetric(lo: float, hi: float, bits: tuple[int, int] = INT8) -> QParams:
    """Parameters for the range [lo, hi] (widened to contain 0; an empty range gets scale 1)."""
    qmin, qmax = bits
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if not np.isfinite(lo) or not np.isfinite(hi) or hi - lo <= 0.0:
        return QParams(1.0, 0 if qmin < 0 <= qmax else qmin, qmin, qmax)
    scale = (hi - lo) / (qmax - qmin)
    zero_point = int(np.clip(qmin - np.round(lo / scale), qmin, qmax))
    return QParams(scale, zero_point, qmin, qmax)


def fake_quant(x: np.ndarray, params: QParams) -> np.ndarray:
    """Quantize and dequantize `x` (round half to even, as onnxruntime and numpy round)."""
    q = np.clip(np.round(np.asarray(x, dtype=np.float64) / params.scale) + params.zero_point, params.qmin, params.qmax)
    return ((q - params.zero_point) * params.scale).astype(np.float32)


def weight_scales(w: np.ndarray, method: str, axis: int = 0, multiplier: np.ndarray | None = None) -> np.ndarray:
    """Symmetric int8 scales of `w`, one per slice along `axis` ('channel') or one ('layer'), shaped to broadcast.

    `multiplier` (per output channel) is what the toolkit folds into the weights before quantizing them, such as
    a following BatchNormalization's gamma / sqrt(var + eps): per channel it changes nothing, per layer it can
    make one channel's range swamp the others (Nagel et al. 2019)."""
    w = np.asarray(w, dtype=np.float64)
    shape = [1] * w.ndim
    shape[axis] = w.shape[axis]
    folded = w if multiplier is None else w * np.abs(np.asarray(multiplier, dtype=np.float64)).reshape(shape)
    if method == "channel":
        reduce = tuple(i for i in range(w.ndim) if i != axis)
        peak = np.abs(folded).max(axis=reduce, keepdims=True) if reduce else np.abs(folded)
    elif method == "layer":
        peak = np.full(shape, np.abs(folded).max() if folded.size else 0.0)
    else:
        raise ValueError(f"unknown quantized_method '{method}' (use one of {', '.join(METHODS)})")
    scales = np.where(peak > 0, peak / INT8[1], 1.0)
    if multiplier is not None:  # back to the unfolded weights' units
        m = np.abs(np.asarray(multiplier, dtype=np.float64)).reshape(shape)
        scales = np.where(m > 0, scales / np.where(m > 0, m, 1.0), 1.0)
    return scales


def fake_quant_weights(w: np.ndarray, method: str, axis: int = 0, multiplier: np.ndarray | None = None) -> np.ndarray:
    """Weights after symmetric int8 quantization and dequantization."""
    scales = weight_scales(w, method, axis, multiplier)
    q = np.clip(np.round(np.asarray(w, dtype=np.float64) / scales), -INT8[1], INT8[1])
    return (q * scales).astype(np.float32)


@dataclass
class Histogram:
    """Counts over `bins` equal bins between the observed lo and hi of a tensor."""

    lo: float
    hi: float
    counts: np.ndarray

    @property
    def centers(self) -> np.ndarray:
        edges = np.linspace(self.lo, self.hi, len(self.counts) + 1)
        return (edges[:-1] + edges[1:]) / 2

    def percentile(self, q: float) -> float:
        """The value below which q percent of the counted values lie (bin resolution)."""
        total = self.counts.sum()
        if total == 0 or self.hi <= self.lo:
            return self.lo
        index = int(np.searchsorted(np.cumsum(self.counts), total * q / 100.0))
        return float(self.centers[min(index, len(self.counts) - 1)])


def choose_range(hist: Histogram, algorithm: str, bits: tuple[int, int] = INT8) -> tuple[float, float]:
    """The (lo, hi) an algorithm quantizes a tensor with, from its calibration histogram."""
    if algorithm == "normal" or hist.hi <= hist.lo or hist.counts.sum() == 0:
        return hist.lo, hist.hi
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown quantized_algorithm '{algorithm}' (use one of {', '.join(ALGORITHMS)})")
    centers, counts = hist.centers, hist.counts.astype(np.float64)
    if algorithm == "mmse" and len(counts) > SEARCH_BINS and len(counts) % SEARCH_BINS == 0:  # coarser, faster
        group = len(counts) // SEARCH_BINS
        centers, counts = centers.reshape(-1, group).mean(axis=1), counts.reshape(-1, group).sum(axis=1)
    lo0, hi0 = min(hist.lo, 0.0), max(hist.hi, 0.0)
    best, best_cost = (hist.lo, hist.hi), np.inf
    for fl in CLIP_GRID if lo0 < 0 else (1.0,):
        for fh in CLIP_GRID if hi0 > 0 else (1.0,):
            params = asymmetric(lo0 * fl, hi0 * fh, bits)
            if algorithm == "kl_divergence" and (params.hi - params.lo) < KL_MIN_SHARE * (hist.hi - hist.lo):
                continue  # KL against a histogram finer than the levels only; see KL_MIN_SHARE
            cost = _mse(centers, counts, params) if algorithm == "mmse" else _kl(centers, counts, params)
            if cost < best_cost - 1e-15:
                best, best_cost = (params.lo if lo0 < 0 else hist.lo, params.hi if hi0 > 0 else hist.hi), cost
    return best


def _mse(centers: np.ndarray, counts: np.ndarray, params: QParams) -> float:
    return float(np.sum(counts * (fake_quant(centers, params).astype(np.float64) - centers) ** 2))


def _kl(centers: np.ndarray, counts: np.ndarray, params: QParams) -> float:
    """KL(P || Q) as TensorRT builds it: P the histogram inside the clipped range with the clipped mass added
    to its edge bins, Q the mass each quantization level collects from P, spread back evenly over the bins
    (with values) that map to it."""
    inside = (centers >= params.lo) & (centers <= params.hi)
    if not inside.any():
        return np.inf
    p = counts[inside].astype(np.float64)
    p[0] += counts[centers < params.lo].sum()
    p[-1] += counts[centers > params.hi].sum()
    levels = (
        np.clip(np.round(centers[inside] / params.scale) + params.zero_point, params.qmin, params.qmax).astype(np.int64)
        - params.qmin
    )
    size = params.qmax - params.qmin + 1
    mass = np.bincount(levels, weights=p, minlength=size)
    filled = np.bincount(levels, weights=(p > 0).astype(np.float64), minlength=size)
    q = np.where(p > 0, mass[levels] / np.maximum(filled[levels], 1), 0.0)
    p, q = p / p.sum(), q / q.sum()
    keep = p > 0
    return float(np.sum(p[keep] * np.log(p[keep] / np.maximum(q[keep], 1e-12))))
