"""`onnxlint compare A --rknn CHIP --int8`: an int8 build calibrated on --dataset, compared layer by layer.

The unit tests stand a fake interpreter in for rknn-toolkit2's (ONNXLINT_RKNN_PYTHON): it records what the
accuracy_analysis child was given and writes the per-layer dumps the toolkit writes, with the simulator's second
layer at cosine 0.99 (within int8's 0.98, outside fp16's 0.999).
"""

from __future__ import annotations

import json
import sys
from importlib import resources

import jsonschema
import numpy as np
import onnx
import pytest
from conftest import FIXTURES, parse

from onnxlint.cli import main

FAKE_TOOLKIT = """#!{python}
import json, sys
from pathlib import Path
import numpy as np

model, chip, inputs, output_dir, dataset, config = sys.argv[3:9]
record = {{"chip": chip, "config": json.loads(config), "evaluation": [np.load(p).tolist() for p in json.loads(inputs)],
          "calibration": [[np.load(p).tolist() for p in line.split()]
                          for line in (Path(dataset).read_text().splitlines() if dataset else [])]}}
Path({record!r}).write_text(json.dumps(record))
dumps = Path(output_dir)
(dumps / "golden").mkdir(parents=True)
(dumps / "simulator").mkdir()
golden = np.linspace(1, 2, 48)
for name, simulated in (("r", golden), ("y", golden + np.where(np.arange(48) % 2, 0.22, -0.22))):
    np.savetxt(dumps / "golden" / (name + ".txt"), golden)
    np.savetxt(dumps / "simulator" / (name + ".txt"), simulated)
(dumps / "map_name_to_file.txt").write_text("name file\\n----\\nx x.txt\\nr r.txt\\ny y.txt\\n")
"""


@pytest.fixture
def fake_toolkit(tmp_path, monkeypatch):
    """The path the fake toolkit writes its record to, and a model of one 1x3x4x4 input."""
    record = tmp_path / "record.json"
    python = tmp_path / "fake-python"
    python.write_text(FAKE_TOOLKIT.format(python=sys.executable, record=str(record)))
    python.chmod(0o755)
    monkeypatch.setenv("ONNXLINT_RKNN_PYTHON", str(python))
    model = tmp_path / "model.onnx"
    onnx.save(
        parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[1, 3, 4, 4] x) => (float[1, 3, 4, 4] y) <float c = {2.0}> { r = Relu(x)
            y = Mul(r, c) }"""),
        str(model),
    )
    return model, record


def _run(capsys, *args):
    code = main(["compare", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def _samples(tmp_path, count=3):
    samples = np.random.default_rng(5).random((count, 1, 3, 4, 4)).astype(np.float32)
    path = tmp_path / "calibration.npz"
    np.savez(path, x=samples)
    return path, samples


def test_int8_build_gets_the_dataset_the_config_and_the_raw_values(capsys, tmp_path, fake_toolkit):
    model, record = fake_toolkit
    dataset, samples = _samples(tmp_path)
    code, out, err = _run(
        capsys,
        model,
        "--rknn",
        "rk3588",
        "--int8",
        "--dataset",
        dataset,
        "--mean",
        "0,0,0",
        "--std",
        "255,255,255",
        "--algorithm",
        "mmse",
        "--method",
        "layer",
        "--format",
        "json",
    )
    assert code == 0, err
    given = json.loads(record.read_text())
    assert given["config"] == {
        "quantized_dtype": "w8a8",
        "quantized_algorithm": "mmse",
        "quantized_method": "layer",
        "mean_values": [[0.0, 0.0, 0.0]],
        "std_values": [[255.0, 255.0, 255.0]],
    }
    # the toolkit normalises with mean/std itself: it gets the values before, the last sample held back
    assert np.allclose(given["calibration"], samples[:2, None] * 255, atol=1e-3)
    assert np.allclose(given["evaluation"], samples[2:] * 255, atol=1e-3)
    document = json.loads(out)
    assert document["tolerance"]["min_cosine"] == 0.98
    assert [(t["tensor"], t["ok"]) for t in document["tensors"]] == [("r", True), ("y", True)]
    assert 0.98 < document["tensors"][1]["cosine"] < 0.999
    build = document["rknn"]
    assert (build["dtype"], build["chip"], build["config"]) == ("int8", "rk3588", given["config"])
    assert build["calibration"] == {"source": str(dataset), "generated": False, "samples": 2}
    assert "held back" in build["evaluation"]
    schema = json.loads(resources.files("onnxlint").joinpath("schemas", "compare-report.schema.json").read_text())
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


def test_min_cosine_overrides_the_int8_default(capsys, tmp_path, fake_toolkit):
    model, _ = fake_toolkit
    code, out, _ = _run(capsys, model, "--rknn", "rk3588", "--int8", "--min-cosine", "0.999", "--format", "json")
    document = json.loads(out)
    assert code == 1 and document["first_divergence"]["tensor"] == "y"


def test_text_names_the_build_and_a_generated_calibration(capsys, tmp_path, fake_toolkit):
    model, record = fake_toolkit
    code, out, _ = _run(capsys, model, "--rknn", "rk3588", "--int8")
    assert code == 0
    assert (
        "int8 build for rk3588: rknn.config(quantized_dtype='w8a8', quantized_algorithm='normal', "
        "quantized_method='channel')"
    ) in out
    assert "calibration data: generated: 4 seeded random 0-255 images (seed 0)" in out
    assert len(json.loads(record.read_text())["calibration"]) == 3


def test_inputs_are_evaluated_on_every_sample_calibrated(capsys, tmp_path, fake_toolkit):
    model, record = fake_toolkit
    dataset, samples = _samples(tmp_path)
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, x=np.full((1, 3, 4, 4), 0.5, np.float32))
    code, out, _ = _run(
        capsys, model, "--rknn", "rk3588", "--int8", "--dataset", dataset, "--inputs", inputs, "--format", "json"
    )
    given = json.loads(record.read_text())
    assert code == 0 and np.allclose(given["calibration"], samples[:, None])
    assert np.allclose(given["evaluation"], 0.5) and json.loads(out)["rknn"]["calibration"]["samples"] == 3


def test_fp16_by_default_int8_on_int8_only_chips(capsys, tmp_path, fake_toolkit):
    model, record = fake_toolkit
    code, out, _ = _run(capsys, model, "--rknn", "rk3588", "--format", "json")
    given, document = json.loads(record.read_text()), json.loads(out)
    assert given["config"] == {} and given["calibration"] == []
    assert document["rknn"]["dtype"] == "fp16" and document["rknn"]["calibration"] is None
    assert code == 1 and document["tolerance"]["min_cosine"] == 0.999  # 'y' at 0.99: outside fp16's verdict
    dataset, _ = _samples(tmp_path)
    code, out, _ = _run(capsys, model, "--rknn", "rv1106", "--dataset", dataset, "--format", "json")
    document = json.loads(out)
    assert code == 0 and document["rknn"]["dtype"] == "int8" and document["tolerance"]["min_cosine"] == 0.98
    assert len(json.loads(record.read_text())["calibration"]) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--int8"], "--int8 builds for the simulator: give --rknn CHIP"),
        (["--rknn", "rk3588", "--dataset", "calibration.npz"], "--dataset sets up the int8 build: give --int8"),
        (["--rknn", "rk3588", "--mean", "0,0,0"], "--mean sets up the int8 build: give --int8"),
        (["--rknn", "rk3588", "--algorithm", "mmse"], "--algorithm sets up the int8 build: give --int8"),
        (["--rknn", "rk3588", "--method", "layer"], "--method sets up the int8 build: give --int8"),
        (["--rknn", "rk3588", "--int8", "--std", "a,b"], "--std: expected numbers"),
        (["--rknn", "rk3588", "--int8", "--dataset", "nothing.xyz"], "not an image, a folder, an .npz or a dataset"),
    ],
)
def test_argument_errors_are_one_line(capsys, fake_toolkit, args, message):
    model, _ = fake_toolkit
    b = [FIXTURES / "yolov5n_legacy_op12.onnx"] if args == ["--int8"] else []
    code, _, err = _run(capsys, model, *b, *args)
    assert code == 2 and len(err.splitlines()) == 1 and message in err


@pytest.mark.rknn
def test_int8_against_the_rknn_simulator(capsys, tmp_path):
    from onnxlint.rknn import toolkit

    if toolkit.toolkit_python() is None:
        pytest.skip("rknn-toolkit2 is not installed (or set ONNXLINT_RKNN_PYTHON)")
    model = FIXTURES / "yolov5n_legacy_op12.onnx"
    dataset = tmp_path / "calibration.npz"
    np.savez(dataset, images=np.random.default_rng(3).random((3, 1, 3, 160, 160)).astype(np.float32))
    code, out, _ = _run(
        capsys,
        model,
        "--rknn",
        "rk3588",
        "--int8",
        "--dataset",
        dataset,
        "--mean",
        "0,0,0",
        "--std",
        "255,255,255",
        "--format",
        "json",
    )
    document = json.loads(out)
    assert code in (0, 1) and document["rknn"]["dtype"] == "int8" and document["tolerance"]["min_cosine"] == 0.98
    assert document["rknn"]["calibration"]["samples"] == 2
    tensors = document["tensors"]
    assert len(tensors) > 100 and all(t["cosine"] is not None for t in tensors)
    # int8 loses more than fp16 does on this random-weight model, and the verdict is by 0.98
    assert min(t["cosine"] for t in tensors) < 0.999
    assert all(t["ok"] == (t["cosine"] >= 0.98) for t in tensors)
    code, text, _ = _run(capsys, model, "--rknn", "rk3588", "--int8", "--dataset", dataset)
    assert "int8 build for rk3588: rknn.config(quantized_dtype='w8a8'" in text
    assert f"calibration data: {dataset}" in text
