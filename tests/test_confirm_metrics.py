"""The comparison metrics on arrays whose answers are worked out by hand."""

import math

import numpy as np
import pytest

from onnxlint.confirm.metrics import Tolerance, compare, cosine_similarity, snr_db


def test_identical_tensors():
    x = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    m = compare(x, x.copy())
    assert (m.max_abs, m.max_rel, m.mismatch_ratio, m.cosine, m.snr_db) == (0.0, 0.0, 0.0, 1.0, math.inf)
    assert m.within(Tolerance())


def test_hand_computed_differences():
    reference = np.array([1.0, 2.0, 4.0, 0.0])
    actual = np.array([1.0, 2.5, 4.0, 0.001])
    m = compare(reference, actual, Tolerance(rtol=1e-3, atol=1e-5))
    assert m.max_abs == pytest.approx(0.5)
    assert m.max_rel == math.inf  # 0.001 against a reference 0
    assert m.mismatch_ratio == pytest.approx(0.5)  # 2.5 vs 2 and 0.001 vs 0 fail allclose
    # cosine = (1 + 5 + 16 + 0) / (sqrt(21) * sqrt(1 + 6.25 + 16 + 1e-6))
    assert m.cosine == pytest.approx(22 / (math.sqrt(21) * math.sqrt(23.250001)))
    # snr = 10 log10(21 / (0.25 + 1e-6))
    assert m.snr_db == pytest.approx(10 * math.log10(21 / 0.250001))
    assert not m.within(Tolerance())


def test_allclose_semantics_at_the_boundary():
    reference = np.array([100.0])
    inside = compare(reference, np.array([100.0 + 1e-5 + 0.1 - 1e-9]))  # atol + rtol*|ref| = 0.10001
    outside = compare(reference, np.array([100.0 + 0.10002]))
    assert inside.mismatch_ratio == 0.0 and outside.mismatch_ratio == 1.0


def test_cosine_verdict_for_low_precision_backends():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=1000)
    int8_like = np.round(reference / 0.05) * 0.05  # a quantisation step of 0.05
    m = compare(reference, int8_like)
    assert m.mismatch_ratio > 0.9  # quantisation fails fp32 tolerances...
    assert m.within(Tolerance(min_cosine=0.98))  # ...but not the int8 cosine verdict
    assert not m.within(Tolerance(min_cosine=0.99999))


def test_nan_and_inf_are_counted_and_fail():
    reference = np.array([1.0, np.nan, 3.0, np.inf])
    actual = np.array([1.0, 2.0, 3.0, np.inf])
    m = compare(reference, actual)
    assert (m.nan_reference, m.nan_actual, m.inf_reference, m.inf_actual) == (1, 0, 1, 1)
    assert not m.within(Tolerance())
    assert m.to_dict()["nan_reference"] == 1


def test_seed_000_metric_confusion():
    # A "cosine distance" helper printed 0.04 for nearly identical tensors; the similarity is ~1.
    reference = np.linspace(1, 2, 100)
    assert cosine_similarity(reference, reference * 1.0001) == pytest.approx(1.0)
    assert cosine_similarity(np.zeros(3), np.zeros(3)) == 1.0
    assert cosine_similarity(np.zeros(3), np.ones(3)) == 0.0
    assert snr_db(np.ones(4), np.ones(4) * 1.1) == pytest.approx(20.0)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shapes differ"):
        compare(np.zeros(3), np.zeros(4))
