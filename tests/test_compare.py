"""`onnxlint compare`: layer-by-layer comparison of two models and the node where they diverge."""

from __future__ import annotations

import json
from importlib import resources

import compare_steps
import jsonschema
import onnx
import pytest
from conftest import FIXTURES, parse
from onnx import numpy_helper

from onnxlint.cli import main
from onnxlint.confirm.compare import FIRST_CHUNK, compare_models, outputs_message, plan_comparison, run_comparison
from onnxlint.confirm.metrics import Tolerance
from onnxlint.core import sandbox

MODEL = FIXTURES / "yolov5n_legacy_op12.onnx"


def _run(capsys, *args):
    code = main(["compare", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def perturbed(tmp_path_factory):
    """The fixture with one Conv's weight scaled by 1.5: everything downstream of it differs."""
    model = onnx.load(str(MODEL))
    weights = {t.name: t for t in model.graph.initializer}
    conv = [n for n in model.graph.node if n.op_type == "Conv"][10]
    tensor = weights[conv.input[1]]
    tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor) * 1.5, tensor.name))
    path = tmp_path_factory.mktemp("compare") / "perturbed.onnx"
    onnx.save(model, str(path))
    return path, conv.name


def test_same_model_does_not_diverge(capsys):
    code, out, _ = _run(capsys, MODEL, MODEL, "--format", "json")
    document = json.loads(out)
    assert code == 0 and document["first_divergence"] is None
    assert all(t["ok"] for t in document["tensors"]) and len(document["tensors"]) > 300
    assert document["outputs"][0]["tensor"] == "output0"


def test_first_divergence_is_the_changed_node(capsys, perturbed):
    path, conv = perturbed
    code, out, _ = _run(capsys, MODEL, path, "--format", "json")
    document = json.loads(out)
    assert code == 1
    origin = document["first_divergence"]
    assert (origin["node"], origin["op_type"]) == (conv, "Conv") and origin["metrics"]["cosine"] < 0.999
    names = [t["tensor"] for t in document["tensors"]]
    first_bad = next(t for t in document["tensors"] if not t["ok"])
    assert first_bad["node"] == conv
    assert all(t["ok"] for t in document["tensors"][: names.index(first_bad["tensor"])])  # everything before is fine
    assert document["outputs"][0]["ok"] is False
    assert set(document) >= {"schema_version", "a", "b", "inputs", "tolerance", "tensors", "first_divergence"}
    schema = json.loads(resources.files("onnxlint").joinpath("schemas", "compare-report.schema.json").read_text())
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    assert "rknn" not in document  # only compare --rknn describes a build
    code, text, _ = _run(capsys, MODEL, path)
    assert code == 1 and f"first divergence: {conv} (Conv)" in text


def test_chunking_gives_the_same_answer(perturbed, tmp_path):
    path, _ = perturbed
    whole = compare_models(MODEL, path).to_dict()
    assert compare_models(MODEL, path, chunk=7).to_dict() == whole
    plan_comparison(MODEL, path, tmp_path)  # chunks sized by bytes: 256 KiB, the fixture's tensors take 7.4 MiB
    seen = []
    by_bytes = run_comparison(tmp_path, chunk_bytes=1 << 18, progress=lambda done, total: seen.append((done, total)))
    assert by_bytes.to_dict() == whole
    shared = len(whole["tensors"])
    assert seen[-1] == (3 * shared, 3 * shared) and seen == sorted(seen)
    assert len(seen) > 3 * 10  # more than ten chunks per model, where counting tensors alone makes two


def test_a_byte_budget_below_every_tensor_runs_one_tensor_at_a_time(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1,4] x) => (float[1,4] y) {
        a = Relu(x)
        b = Neg(a)
        c = Abs(b)
        d = Sigmoid(c)
        e = Neg(d)
        f = Abs(e)
        g2 = Relu(f)
        h = Neg(g2)
        i = Abs(h)
        j = Neg(i)
        y = Abs(j)
    }"""
    model = tmp_path / "chain.onnx"
    onnx.save(parse(text), str(model))
    plan_comparison(model, model, tmp_path)
    seen = []
    comparison = run_comparison(tmp_path, chunk_bytes=1, progress=lambda done, total: seen.append((done, total)))
    shared = len(comparison.tensors)
    assert shared == 11 and not comparison.diverged
    # the first chunk's FIRST_CHUNK tensors, then one per run, for A, for B and for the comparison
    assert len(seen) == 3 * (shared - FIRST_CHUNK + 1) and seen[-1] == (3 * shared, 3 * shared)


@pytest.mark.parametrize("names", [[], ["y"], ["/model.0/conv/Conv_output_0", "x" * 200, "ünïcode \u2192 name", ""]])
def test_outputs_message_is_what_onnx_writes(names):
    expected = onnx.ModelProto(graph=onnx.GraphProto(output=[onnx.ValueInfoProto(name=n) for n in names]))
    assert outputs_message(names) == expected.SerializeToString()


def test_each_step_holds_only_its_own_library(tmp_path, perturbed):
    """compare's two children: the plan step (vetting) never loads onnxruntime, the run step never loads onnx,
    and together they give the in-process answer."""
    path, _ = perturbed
    limits = sandbox.Limits(timeout_s=120, memory_mib=2048)
    assert sandbox.run(
        compare_steps.plan_step, str(MODEL), str(path), str(tmp_path), limits=limits, loads_onnxruntime=False
    ) == ["onnx"]
    document, loaded = sandbox.run(compare_steps.run_step, str(tmp_path), limits=limits)
    assert loaded == ["onnxruntime"]
    assert document == compare_models(MODEL, path).to_dict() and document["first_divergence"] is not None


def test_node_whose_inputs_are_not_shared_is_still_found(tmp_path):
    # B computes 'r' differently under another name: the Mul is the first shared tensor to differ.
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    onnx.save(
        parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[4] x) => (float[4] y) <float c = {2.0}> { r = Relu(x)
            m = Mul(r, c)
            y = Identity(m) }"""),
        str(a),
    )
    onnx.save(
        parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[4] x) => (float[4] y) <float c = {2.0}> { other = Sigmoid(x)
            m = Mul(other, c)
            y = Identity(m) }"""),
        str(b),
    )
    comparison = compare_models(a, b)
    assert [t.tensor for t in comparison.tensors] == ["m", "y"]
    assert comparison.first_divergence.tensor == "m"


def test_cosine_tolerance_moves_the_origin_downstream(perturbed):
    path, conv = perturbed
    # The scaled Conv's own output keeps cosine 0.995: within 0.99, so the origin is where the error has grown.
    loose = compare_models(MODEL, path, tolerance=Tolerance(min_cosine=0.99))
    assert loose.first_divergence.node != conv and loose.first_divergence.metrics.cosine < 0.99
    assert compare_models(MODEL, path, tolerance=Tolerance(min_cosine=0.999)).first_divergence.node == conv


def test_bad_arguments(capsys, tmp_path):
    code, _, err = _run(capsys, MODEL, tmp_path / "missing.onnx")
    assert code == 2 and len(err.splitlines()) == 1 and "missing.onnx: no such file" in err
    other = tmp_path / "other.onnx"
    onnx.save(
        parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[4] q) => (float[4] y) { y = Relu(q) }"""),
        str(other),
    )
    code, _, err = _run(capsys, MODEL, other)
    assert code == 2 and "the models' inputs differ" in err


def test_b_or_rknn(capsys, monkeypatch):
    code, _, err = _run(capsys, MODEL)
    assert code == 2 and "give either B.onnx or --rknn CHIP" in err
    from onnxlint.rknn import toolkit

    monkeypatch.setattr(toolkit, "toolkit_python", lambda: None)
    code, _, err = _run(capsys, MODEL, "--rknn", "rk3588")
    assert code == 2 and "--rknn needs rknn-toolkit2" in err


@pytest.mark.rknn
def test_against_the_rknn_simulator(capsys):
    from onnxlint.rknn import toolkit

    if toolkit.toolkit_python() is None:
        pytest.skip("rknn-toolkit2 is not installed (or set ONNXLINT_RKNN_PYTHON)")
    code, out, _ = _run(capsys, MODEL, "--rknn", "rk3588", "--format", "json")
    document = json.loads(out)
    assert code == 0 and document["b"] == "rknn:rk3588" and document["tolerance"]["min_cosine"] == 0.999
    assert len(document["tensors"]) > 100 and document["first_divergence"] is None
    # at a tolerance fp16 cannot meet, the origin is a node of the model, with every shared input within it
    code, out, _ = _run(capsys, MODEL, "--rknn", "rk3588", "--min-cosine", "0.99999", "--format", "json")
    origin = json.loads(out)["first_divergence"]
    assert code == 1 and origin["node"] and origin["metrics"]["cosine"] < 0.99999


def _matmul_relu():
    import numpy as np
    from onnx import TensorProto, helper

    # Eighths print exactly in onnx's text format (onnx 1.18's printer rounds other floats): both files hold the
    # same weights.
    weight = numpy_helper.from_array((np.arange(4096, dtype=np.float32) % 8 / 8).reshape(64, 64), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"), helper.make_node("Relu", ["h"], ["y"], name="r")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
        [weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def test_external_data_and_text_format_models(capsys, tmp_path):
    """onnxruntime reads each file itself (exposed outputs appended as protobuf): external weights stay in their
    folder, and a model in onnx's text format is handed over as protobuf."""
    (tmp_path / "ext").mkdir()
    onnx.save(
        _matmul_relu(), str(tmp_path / "ext" / "m.onnx"), save_as_external_data=True, location="w.bin", size_threshold=0
    )
    onnx.save(_matmul_relu(), str(tmp_path / "text.onnxtxt"))
    code, out, _ = _run(capsys, tmp_path / "text.onnxtxt", tmp_path / "ext" / "m.onnx", "--format", "json")
    document = json.loads(out)
    assert code == 0 and [t["tensor"] for t in document["tensors"]] == ["h", "y"]
    assert all(t["ok"] and t["max_abs"] == 0.0 for t in document["tensors"])
