"""The quantization math, against values computed by hand."""

import numpy as np
import pytest

from onnxlint.quant.scheme import (
    INT16,
    Histogram,
    QParams,
    asymmetric,
    choose_range,
    fake_quant,
    fake_quant_weights,
    weight_scales,
)


def test_asymmetric_params_by_hand():
    # [-1, 3]: scale 4/255, zero point -128 - round(-1 / (4/255)) = -128 + 64 = -64 (63.75 rounds to 64)
    params = asymmetric(-1.0, 3.0)
    assert params.scale == pytest.approx(4 / 255)
    assert params.zero_point == -64
    assert (params.qmin, params.qmax) == (-128, 127)


def test_range_widened_to_contain_zero():
    # [2, 5] -> [0, 5]: zero is exact, scale 5/255, zero point -128
    params = asymmetric(2.0, 5.0)
    assert params.scale == pytest.approx(5 / 255)
    assert params.zero_point == -128
    assert fake_quant(np.array([0.0]), params)[0] == 0.0


def test_empty_range_gets_unit_scale():
    params = asymmetric(0.0, 0.0)
    assert (params.scale, params.zero_point) == (1.0, 0)


def test_fake_quant_by_hand():
    params = QParams(scale=0.5, zero_point=10)
    # 1.2/0.5 = 2.4 -> 2 -> q 12 -> 1.0 ; -70 -> -140 + 10 clips at -128 -> (-128 - 10) * 0.5 = -69
    # 63.0 -> 126 + 10 = 136 clips at 127 -> 58.5 ; 0.25 -> 0.5 rounds to even 0 -> 0.0
    x = np.array([1.2, -70.0, 63.0, 0.25])
    np.testing.assert_allclose(fake_quant(x, params), [1.0, -69.0, 58.5, 0.0])


def test_int16_grid_is_finer():
    params = asymmetric(-1.0, 1.0, INT16)
    assert params.scale == pytest.approx(2 / 65535)
    x = np.linspace(-1, 1, 101)
    assert np.abs(fake_quant(x, params) - x).max() <= params.scale / 2 + 1e-7


def test_weights_per_channel_and_per_layer_by_hand():
    w = np.array([[1.0, -0.5], [0.01, 0.02]], dtype=np.float32)  # two output channels on axis 0
    np.testing.assert_allclose(weight_scales(w, "channel").ravel(), [1 / 127, 0.02 / 127])
    np.testing.assert_allclose(weight_scales(w, "layer").ravel(), [1 / 127, 1 / 127])
    # per channel: -0.5 is -63.5 steps of 1/127, rounded to even -64; 0.01 is 63.5 steps of 0.02/127 -> 64
    np.testing.assert_allclose(fake_quant_weights(w, "channel"), [[1.0, -64 / 127], [64 * 0.02 / 127, 0.02]], rtol=1e-6)
    # per layer: 0.01 = 1.27 steps of 1/127 -> 1/127, 0.02 = 2.54 -> 3/127: the small channel is crushed
    np.testing.assert_allclose(fake_quant_weights(w, "layer")[1], [1 / 127, 3 / 127], rtol=1e-6)


def test_weight_multiplier_matters_per_layer_only():
    w = np.array([[1.0, 0.5], [1.0, 0.5]], dtype=np.float32)
    bn = np.array([1.0, 100.0])  # a BatchNorm that scales channel 1 by 100 before quantization
    np.testing.assert_allclose(fake_quant_weights(w, "channel", multiplier=bn), fake_quant_weights(w, "channel"))
    # per layer on the folded weights (max 100, step 100/127): channel 0 steps are 100/127 in its own units, so
    # 1.0 (1.27 steps) and 0.5 (0.635 steps) both become one step; channel 1 steps are 1/127: 1.0 stays, 0.5 is
    # 63.5 steps, rounded to even 64
    folded = fake_quant_weights(w, "layer", multiplier=bn)
    np.testing.assert_allclose(folded[0], [100 / 127, 100 / 127], rtol=1e-6)
    np.testing.assert_allclose(folded[1], [1.0, 64 / 127], rtol=1e-6)


def test_weight_axis_for_transposed_layouts():
    w = np.array([[1.0, 0.01], [-0.5, 0.02]], dtype=np.float32)  # output channels on axis 1
    np.testing.assert_allclose(weight_scales(w, "channel", axis=1).ravel(), [1 / 127, 0.02 / 127])


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="quantized_method"):
        weight_scales(np.ones((2, 2)), "tensor")


def _hist(values, bins=2048):
    values = np.asarray(values, dtype=np.float64)
    return Histogram(
        float(values.min()), float(values.max()), np.histogram(values, bins=bins, range=(values.min(), values.max()))[0]
    )


def test_normal_keeps_min_and_max():
    assert choose_range(_hist([-1.0, 0.0, 4.0]), "normal") == (-1.0, 4.0)


def test_mmse_clips_a_lone_outlier():
    rng = np.random.default_rng(0)
    # Full range: 2e6 values each off by about step^2/12 with step 205/255: ~1.1e5 in total. Clipping 200 to
    # 100 costs one error of 1e4 and halves the step (error 2.8e4 in all): mmse clips.
    values = np.concatenate([rng.normal(0, 1, 2_000_000), [200.0]])
    lo, hi = choose_range(_hist(values), "mmse")
    assert hi < 150
    # and the error really is smaller than with the full range
    full = fake_quant(values, asymmetric(values.min(), values.max()))
    clipped = fake_quant(values, asymmetric(lo, hi))
    assert np.mean((clipped - values) ** 2) < np.mean((full - values) ** 2)


def test_kl_clips_a_long_tail():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(0, 1, 100_000), rng.uniform(20, 40, 10)])
    _, hi = choose_range(_hist(values), "kl_divergence")
    assert hi < 40


def test_percentile_from_histogram():
    hist = _hist(np.arange(1000.0), bins=1000)
    assert hist.percentile(50) == pytest.approx(499.5, abs=1.0)
    assert hist.percentile(99.9) == pytest.approx(998.5, abs=1.5)
