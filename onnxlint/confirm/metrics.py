"""Comparing two tensors, written once: every confirmation and comparison uses these numbers.

Conventions: `reference` is the trusted side (PyTorch, onnxruntime on the original model), `actual` the one
under suspicion. The mismatch ratio uses numpy.allclose's test, |actual - reference| <= atol + rtol*|reference|.
Cosine similarity and SNR are computed in float64 over the flattened tensors.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy loads on first use: `onnxlint compare` itself only waits for its child
    import numpy as np

FP32_RTOL, FP32_ATOL = 1e-3, 1e-5
# Cosine similarity an fp16 or int8 backend must reach to count as equal (configurable per call).
COSINE_FP16, COSINE_INT8 = 0.999, 0.98


@dataclass(frozen=True)
class Tolerance:
    rtol: float = FP32_RTOL
    atol: float = FP32_ATOL
    min_cosine: float | None = None  # set for fp16/int8 backends: the verdict is then by cosine similarity


@dataclass(frozen=True)
class Metrics:
    max_abs: float
    max_rel: float
    mismatch_ratio: float
    cosine: float
    snr_db: float
    nan_reference: int
    nan_actual: int
    inf_reference: int
    inf_actual: int
    size: int

    def within(self, tolerance: Tolerance) -> bool:
        if self.nan_actual != self.nan_reference or self.inf_actual != self.inf_reference:
            return False
        if tolerance.min_cosine is not None:
            return self.cosine >= tolerance.min_cosine
        return self.mismatch_ratio == 0.0

    def to_dict(self) -> dict[str, float | str]:  # JSON has no inf or nan: those are written as strings
        return {
            key: (value if math.isfinite(value) else str(value)) if isinstance(value, float) else value
            for key, value in asdict(self).items()
        }


# Elements per block of the elementwise metrics (maxima and counts, exact in any blocking): compare holds one tensor
# pair of a whole model at a time, and the temporaries of its largest tensor are the comparison's peak. 512 KiB of
# float64 per temporary: small beside the float64 copies of the pair, and few enough blocks to cost no time.
BLOCK = 1 << 16


def compare(reference: np.ndarray, actual: np.ndarray, tolerance: Tolerance = Tolerance()) -> Metrics:
    """Metrics of `actual` against `reference` (same shape; raises ValueError otherwise)."""
    import numpy as np

    reference = np.asarray(reference)
    actual = np.asarray(actual)
    if reference.shape != actual.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {actual.shape}")
    ref = reference.astype(np.float64).ravel()
    act = actual.astype(np.float64).ravel()
    finite = np.isfinite(ref) & np.isfinite(act)
    all_finite = bool(finite.all())
    # Every finite value: no copies in the common case, where all are.
    ref_f, act_f = (ref, act) if all_finite else (ref[finite], act[finite])
    max_abs = max_rel = 0.0
    close_count = 0
    for start in range(0, ref_f.size, BLOCK):  # maxima and counts block by block: exact, and few temporaries
        block_ref, block_act = ref_f[start : start + BLOCK], act_f[start : start + BLOCK]
        diff = np.subtract(block_act, block_ref)
        np.abs(diff, out=diff)
        max_abs = max(max_abs, float(diff.max()))
        scale = np.abs(block_ref)
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = np.divide(diff, scale)
        zero = scale == 0  # |ref| is 0: any difference is infinitely relative, none is 0
        relative[zero] = np.where(diff[zero] > 0, np.inf, 0.0)
        max_rel = max(max_rel, float(relative.max()))
        if all_finite:  # np.isclose's own test, abs(a - b) <= atol + rtol * abs(b), on the arrays already made
            scale *= tolerance.rtol
            scale += tolerance.atol
            close_count += int(np.count_nonzero(diff <= scale))
    if not all_finite:
        close_count = int(
            np.count_nonzero(np.isclose(act, ref, rtol=tolerance.rtol, atol=tolerance.atol, equal_nan=True))
        )
    mismatch_ratio = float(1.0 - close_count / ref.size) if ref.size else 0.0
    return Metrics(
        max_abs=max_abs,
        max_rel=max_rel,
        mismatch_ratio=mismatch_ratio,
        cosine=cosine_similarity(ref_f, act_f),
        snr_db=snr_db(ref_f, act_f),
        nan_reference=int(np.isnan(ref).sum()),
        nan_actual=int(np.isnan(act).sum()),
        inf_reference=int(np.isinf(ref).sum()),
        inf_actual=int(np.isinf(act).sum()),
        size=int(ref.size),
    )


def cosine_similarity(reference: np.ndarray, actual: np.ndarray) -> float:
    """1.0 for identical directions; two all-zero tensors count as identical, one all-zero as 0."""
    import numpy as np

    norms = float(np.linalg.norm(reference)) * float(np.linalg.norm(actual))
    if norms == 0.0:
        return 1.0 if not np.any(reference) and not np.any(actual) else 0.0
    return float(np.dot(reference, actual) / norms)


def snr_db(reference: np.ndarray, actual: np.ndarray) -> float:
    """Signal (reference power) to noise (difference power) in decibels; inf when equal."""
    import numpy as np

    squares = np.subtract(actual, reference)  # one temporary, squared in place: the same sums, bit for bit
    np.square(squares, out=squares)
    noise = float(np.sum(squares))
    np.square(reference, out=squares)
    signal = float(np.sum(squares))
    del squares
    if noise == 0.0:
        return math.inf
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)
