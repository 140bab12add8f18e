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
