"""With the real rknn-toolkit2: onnxlint quant's prediction against an int8 build's accuracy_analysis."""

import numpy as np
import pytest
from conftest import FIXTURES

from onnxlint.rknn.toolkit import quant_accuracy, toolkit_python

pytestmark = [
    pytest.mark.rknn,
    pytest.mark.skipif(toolkit_python() is None, reason="rknn-toolkit2 is not installed (or set ONNXLINT_RKNN_PYTHON)"),
]


def _images(folder, count):
    """Smooth seeded images (blurred blocks), not noise: closer to what calibration sees in practice."""
    cv2 = pytest.importorskip("cv2")  # the toolkit's own dependency
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        blocks = rng.integers(0, 256, size=(10, 10, 3)).astype(np.uint8)
        path = folder / f"image{index}.png"
        cv2.imwrite(str(path), cv2.resize(blocks, (160, 160), interpolation=cv2.INTER_LINEAR))
        paths.append(path)
    return paths


def test_predicted_cosine_matches_the_simulator(tmp_path):
    from onnxlint.quant.analyze import analyze
    from onnxlint.quant.toolkit import output_cosines, read_error_analysis

    model = FIXTURES / "yolov8n_legacy_op12.onnx"
    *calibration, held = _images(tmp_path, 4)
    predicted = analyze(
        model, "rk3588", [str(p) for p in [*calibration, held]], mean=[0, 0, 0], std=[255, 255, 255]
    ).to_dict()
    listing = tmp_path / "dataset.txt"
    listing.write_text("".join(f"{p}\n" for p in calibration))
    result = quant_accuracy(
        model,
        {"target_platform": "rk3588", "mean_values": [[0, 0, 0]], "std_values": [[255, 255, 255]]},
        str(listing),
        [str(held)],
        tmp_path / "snap",
    )
    assert result.failed_stage is None, result.error_lines()
    rows = read_error_analysis(tmp_path / "snap" / "error_analysis.txt")
    measured = output_cosines(rows, ["output0"])["output0"]
    [output] = predicted["outputs"]
    # the prediction is within a quarter of the simulator's loss or 1e-4, whichever is larger
    assert abs(output["predicted_cosine"] - measured) <= max(0.25 * (1 - measured), 1e-4), (output, measured)


def _block_on(chip, folder, **layers):
    """quant_accuracy of PP-OCRv4's reparameterised block on `chip`, calibrated on two 8x8 images and measured
    on a third, with `layers` (float16_layers=..., int16_layers=...); the exDataConvert rows of its analysis."""
    import onnx
    from test_quant_toolkit import reparameterised_block

    from onnxlint.quant.toolkit import read_error_analysis

    cv2 = pytest.importorskip("cv2")
    model = folder / "block.onnx"
    onnx.save(reparameterised_block(), model)
    rng = np.random.default_rng(0)
    images = []
    for index in range(3):
        images.append(folder / f"image{index}.png")
        cv2.imwrite(str(images[-1]), rng.integers(0, 256, size=(8, 8, 3)).astype(np.uint8))
    listing = folder / "dataset.txt"
    listing.write_text("".join(f"{p}\n" for p in images[:2]))
    config = {"target_platform": chip, "mean_values": [[127.5] * 3], "std_values": [[127.5] * 3]}
    result = quant_accuracy(model, config, str(listing), [str(images[2])], folder / "snap", **layers)
    assert result.failed_stage is None, result.error_lines()
    rows = read_error_analysis(folder / "snap" / "error_analysis.txt")
    return [row.tensor for row in rows if row.op_type == "exDataConvert"]


def test_float16_keys_are_names_the_toolkit_accepts(tmp_path):
    """A float16 layer named by an ONNX tensor the toolkit fuses away (PP-OCRv4's depthwise Conv before its scale
    and bias: step2 refused 'depthwise_conv2d_0.tmp_0') is set under the name step1's cfg gives its layer."""
    converts = _block_on("rk3588", tmp_path, float16_layers=["depthwise_conv2d_0.tmp_0", "hardswish_30.tmp_0"])
    # the span from the Conv to the HardSwish runs in float16, between two conversions
    assert converts[:3] == ["x_int8", "batch_norm_2.tmp_2__float16", "hardswish_30.tmp_0__int8"], converts


def test_int16_layers_build_on_an_int8_only_chip(tmp_path):
    """rv1106 refuses float16; an int16 layer goes through the same step1/step2 flow, and accuracy_analysis shows
    its output converted back to int8 for the int8 layer after it (`<tensor>__int8`)."""
    converts = _block_on("rv1106", tmp_path, int16_layers=["hardswish_30.tmp_0"])
    # an all-int8 build converts only its input and output: ["x_int8", "p2o.Add.7"]
    assert converts == ["x_int8", "hardswish_30.tmp_0__int8", "p2o.Add.7"], converts
