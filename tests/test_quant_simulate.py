"""onnxlint quant: layers as the toolkit fuses them, the fake-quant model against numpy, the analysis and its JSON."""

import json
from importlib import resources

import jsonschema
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnxlint.cli import main
from onnxlint.quant.analyze import analyze
from onnxlint.quant.calibrate import collect, float_tensors, session
from onnxlint.quant.layers import find_layers
from onnxlint.quant.scheme import asymmetric, choose_range, fake_quant
from onnxlint.quant.simulate import Settings, Simulator


def detector() -> onnx.ModelProto:
    """A toy head: scores in 0-1 and boxes in pixels (x100) concatenated into one output, as in PicoDet."""
    rng = np.random.default_rng(0)
    init = [
        numpy_helper.from_array(rng.normal(0, 0.5, (4, 3, 1, 1)).astype(np.float32), "w1"),
        numpy_helper.from_array(np.ones(4, np.float32), "g"),
        numpy_helper.from_array(np.zeros(4, np.float32), "b"),
        numpy_helper.from_array(np.zeros(4, np.float32), "m"),
        numpy_helper.from_array(np.ones(4, np.float32), "v"),
        numpy_helper.from_array(rng.normal(0, 0.5, (2, 4, 1, 1)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.normal(0, 0.5, (4, 4, 1, 1)).astype(np.float32), "w3"),
        numpy_helper.from_array(np.array(100.0, np.float32), "hundred"),
        numpy_helper.from_array(np.array([1, -1], np.int64), "flat"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1"),
        helper.make_node("BatchNormalization", ["c1", "g", "b", "m", "v"], ["n1"], name="bn1"),
        helper.make_node("Relu", ["n1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2"),
        helper.make_node("Sigmoid", ["c2"], ["scores"], name="sigmoid"),
        helper.make_node("Conv", ["r1", "w3"], ["c3"], name="conv3"),
        helper.make_node("Sigmoid", ["c3"], ["s3"], name="silu_sigmoid"),
        helper.make_node("Mul", ["c3", "s3"], ["silu"], name="silu_mul"),
        helper.make_node("Mul", ["silu", "hundred"], ["boxes"], name="to_pixels"),
        helper.make_node("Reshape", ["scores", "flat"], ["scores_flat"], name="flatten_scores"),
        helper.make_node("Reshape", ["boxes", "flat"], ["boxes_flat"], name="flatten_boxes"),
        helper.make_node("Concat", ["boxes_flat", "scores_flat"], ["out"], name="join", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "toy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, None])],
        init,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def feeds(count=5, seed=0):
    rng = np.random.default_rng(seed)
    return [{"x": rng.normal(0, 1, (1, 3, 8, 8)).astype(np.float32)} for _ in range(count)]


def test_layers_as_the_toolkit_fuses_them():
    model = detector()
    layers = find_layers(model, float_tensors(model, feeds(1)[0]), quantize_inputs=True)
    assert [(layer.tensor, layer.op_type, layer.weight) for layer in layers] == [
        ("x", "Input", None),
        ("r1", "Conv+BatchNormalization+Relu", "w1"),
        ("scores", "Sigmoid", None),
        ("c2", "Conv", "w2"),
        ("silu", "Conv+SiLU", "w3"),
        ("boxes", "Mul", None),
        ("out", "Concat", None),
    ] or sorted(layer.tensor for layer in layers) == ["boxes", "c2", "out", "r1", "scores", "silu", "x"]
    assert {layer.tensor for layer in layers if layer.graph_output} == {"out"}


def test_a_bias_folds_into_a_conv_not_into_a_conv_transpose():
    """rknn-toolkit2 quantizes a ConvTranspose's output and the bias Add after it as two int8 tensors (PP-OCRv4
    det's p2o.ConvTranspose.3 and p2o.Add.281), where a Conv takes its bias in."""
    rng = np.random.default_rng(0)
    init = [
        numpy_helper.from_array(rng.normal(0, 0.5, (4, 3, 1, 1)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.normal(0, 0.5, (4, 4, 2, 2)).astype(np.float32), "wt"),
        numpy_helper.from_array(np.full((1, 4, 1, 1), 0.5, np.float32), "bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["conv"], name="conv"),
        helper.make_node("Add", ["conv", "bias"], ["conv_biased"], name="conv_bias"),
        helper.make_node("ConvTranspose", ["conv_biased", "wt"], ["up"], name="up", strides=[2, 2]),
        helper.make_node("Add", ["up", "bias"], ["up_biased"], name="up_bias"),
    ]
    graph = helper.make_graph(
        nodes,
        "upsample",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("up_biased", TensorProto.FLOAT, None)],
        init,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    layers = find_layers(model, float_tensors(model, feeds(1)[0]), quantize_inputs=False)
    assert [(layer.tensor, layer.op_type) for layer in layers] == [
        ("conv_biased", "Conv+Add"),
        ("up", "ConvTranspose"),
        ("up_biased", "Add"),
    ]


def test_masks_off_is_the_float_model_and_one_layer_matches_numpy():
    model = detector()
    data = feeds(3)
    layers = find_layers(model, float_tensors(model, data[0]), quantize_inputs=False)
    stats = collect(model, [layer.tensor for layer in layers], data)
    params = [asymmetric(*choose_range(stats[layer.tensor].hist, "normal")) for layer in layers]
    simulator = Simulator(model, layers)
    zeros = np.zeros(len(layers))
    [float_out] = session(model).run(["out"], data[0])
    [off] = simulator.run("channel", Settings(params, zeros, zeros), data[0])
    np.testing.assert_allclose(off, float_out, rtol=1e-5, atol=1e-5)  # BN folded by onnxruntime or not
    # only the Sigmoid layer quantized: the scores part of the output is numpy's fake_quant of the float scores
    k = next(layer.index for layer in layers if layer.tensor == "scores")
    mask = zeros.copy()
    mask[k] = 1
    [one] = simulator.run("channel", Settings(params, mask, mask), data[0])
    boxes = float_out.shape[1] - 2 * 64
    np.testing.assert_allclose(one[:, :boxes], float_out[:, :boxes], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(one[:, boxes:], fake_quant(float_out[:, boxes:], params[k]), atol=1e-6)
    # its range is what calibration saw
    assert stats["scores"].lo >= 0 and stats["scores"].hi <= 1


def test_weights_quantized_per_channel_in_the_session():
    model = detector()
    data = feeds(2)
    layers = find_layers(model, float_tensors(model, data[0]), quantize_inputs=False)
    stats = collect(model, [layer.tensor for layer in layers], data)
    params = [asymmetric(*choose_range(stats[layer.tensor].hist, "normal")) for layer in layers]
    simulator = Simulator(model, layers)
    k = next(layer.index for layer in layers if layer.tensor == "c2")
    wmask = np.zeros(len(layers))
    wmask[k] = 1  # only conv2's weights quantized, no activation
    [out] = simulator.run("channel", Settings(params, np.zeros(len(layers)), wmask), data[0])
    from onnxlint.quant.scheme import fake_quant_weights

    changed = onnx.ModelProto()
    changed.CopyFrom(model)
    w2 = next(t for t in changed.graph.initializer if t.name == "w2")
    w2.CopyFrom(numpy_helper.from_array(fake_quant_weights(numpy_helper.to_array(w2), "channel"), "w2"))
    [expected] = session(changed).run(["out"], data[0])
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def _npz(tmp_path, count=6):
    path = tmp_path / "data.npz"
    np.savez(path, x=np.concatenate([f["x"] for f in feeds(count)]))
    return path


def test_analysis_names_the_join_and_the_proposal_fixes_it(tmp_path):
    model_path = tmp_path / "toy.onnx"
    onnx.save(detector(), model_path)
    # the scores are a small part of the output's norm: the loss shows at the 1e-4 level, so aim higher
    report = analyze(model_path, "rk3588", [str(_npz(tmp_path))], goal=0.99999)
    document = report.to_dict()
    assert document["samples"]["calibration"] == 5 and document["samples"]["evaluation"] == 1
    [output] = document["outputs"]
    assert output["name"] == "out" and output["predicted_cosine"] < 0.9999
    worst = document["layers"][0]
    assert (worst["tensor"], worst["op_type"]) == ("out", "Concat")
    assert "joins ranges" in worst["reason"] and "'scores_flat'" in worst["reason"]
    proposal = document["proposal"]
    assert proposal["float16_layers"][0] == "out"
    assert proposal["predicted_cosine"] > proposal["config_predicted_cosine"]
    assert "out: float16" in proposal["quantization_cfg"]
    assert proposal["caveat"].startswith("not proven")


def test_integer_only_chip_gets_no_float16(tmp_path):
    model_path = tmp_path / "toy.onnx"
    onnx.save(detector(), model_path)
    proposal = analyze(model_path, "rv1106", [str(_npz(tmp_path))], goal=0.99999).to_dict()["proposal"]
    assert proposal["integer_only"] and proposal["float16_layers"] == []
    assert proposal["split_outputs"] == ["out"] or "out" in proposal["int16_layers"]


def test_json_matches_its_schema(tmp_path, capsys):
    model_path = tmp_path / "toy.onnx"
    onnx.save(detector(), model_path)
    assert (
        main(["quant", str(model_path), "--target", "rk3588", "--dataset", str(_npz(tmp_path)), "--format", "json"])
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    schema = json.loads(resources.files("onnxlint").joinpath("schemas", "quant-report.schema.json").read_text())
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    assert document["tool"]["name"] == "onnxlint"


def test_text_output_and_generated_sample(tmp_path, capsys):
    model_path = tmp_path / "toy.onnx"
    onnx.save(detector(), model_path)
    assert main(["quant", str(model_path), "--target", "rk3588", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "no --dataset: generated" in out and "predicted end-to-end cosine" in out and "rknn.config(" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--input-size", "1,3,x"], "--input-size"),
        (["--dataset", "nothing.xyz"], "not an image, a folder"),
        (["--mean", "a,b"], "--mean"),
    ],
)
def test_usage_errors_are_one_line(tmp_path, capsys, args, message):
    model_path = tmp_path / "toy.onnx"
    onnx.save(detector(), model_path)
    assert main(["quant", str(model_path), "--target", "rk3588", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_images_are_resized_and_normalised_as_the_toolkit_does(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    from onnxlint.quant.dataset import load_samples

    pixels = np.zeros((4, 6, 3), dtype=np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = 255, 128, 0
    Image.fromarray(pixels).save(tmp_path / "a.png")
    samples = load_samples(None, [str(tmp_path / "a.png")], {"x": (1, 3, 4, 6)}, mean=[0, 128, 0], std=[255, 1, 1])
    [feed] = samples.feeds
    assert feed["x"].shape == (1, 3, 4, 6) and samples.images
    np.testing.assert_allclose(feed["x"][0, :, 0, 0], [1.0, 0.0, 0.0])  # RGB order, (pixel - mean) / std
    (tmp_path / "list.txt").write_text("a.png\na.png\n")
    assert len(load_samples(None, [str(tmp_path / "list.txt")], {"x": (1, 3, 8, 8)}, None, None).feeds) == 2


def test_inputs_file_is_the_evaluation_sample(tmp_path):
    model_path = tmp_path / "toy.onnx"
    onnx.save(detector(), model_path)
    evaluation = tmp_path / "eval.npz"
    np.savez(evaluation, x=feeds(1, seed=7)[0]["x"])
    from onnxlint.confirm.inputs import load_inputs

    document = analyze(model_path, "rk3588", [str(_npz(tmp_path, 3))], inputs=load_inputs(evaluation)).to_dict()
    assert (document["samples"]["calibration"], document["samples"]["evaluation"]) == (3, 1)
    assert any("evaluated on --inputs" in note for note in document["notes"])


def test_toolkit_dataset_listing_with_npy(tmp_path):
    from onnxlint.quant.dataset import DatasetError, load_samples

    for index, feed in enumerate(feeds(2)):
        np.save(tmp_path / f"s{index}.npy", feed["x"])
    (tmp_path / "dataset.txt").write_text("s0.npy\ns1.npy\n")
    samples = load_samples(None, [str(tmp_path / "dataset.txt")], {"x": (1, 3, 8, 8)}, mean=None, std=None)
    assert len(samples.feeds) == 2 and not samples.images
    np.testing.assert_array_equal(samples.feeds[1]["x"], feeds(2)[1]["x"])
    (tmp_path / "bad.txt").write_text("missing.png\n")
    with pytest.raises(DatasetError, match=r"no file 'missing\.png'"):
        load_samples(None, [str(tmp_path / "bad.txt")], {"x": (1, 3, 8, 8)}, None, None)
