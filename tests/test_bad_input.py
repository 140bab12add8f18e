"""Bad input gives one line `onnxlint: error: <path>: <problem>` and exit 2, never a traceback."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnxlint.cli import main


def _relu_model(**kwargs) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [numpy_helper.from_array(np.arange(4, dtype=np.float32), "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8, **kwargs)


def _externalise(model: onnx.ModelProto, location: str, offset: int = 0, length: int = 16) -> onnx.ModelProto:
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return model


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _bad_files(tmp_path):
    """(name, path, expected fragment of the problem)"""
    cases = []
    cases.append(("missing", tmp_path / "nope.onnx", "no such file"))
    folder = tmp_path / "folder.onnx"
    folder.mkdir()
    cases.append(("directory", folder, "a folder with no .onnx file in it"))
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    cases.append(("empty", empty, "empty file"))
    text = tmp_path / "readme.onnx"
    text.write_text("this is not a model\n")
    cases.append(("not onnx", text, "ONNX"))
    good = _relu_model().SerializeToString()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(good[: len(good) // 2])
    cases.append(("truncated", truncated, "ONNX"))
    corrupted = tmp_path / "corrupted.onnx"
    corrupted.write_bytes(bytes([0xFF] * 64) + good)
    cases.append(("corrupted", corrupted, "ONNX"))
    missing_data = tmp_path / "missing_data.onnx"
    onnx.save(_externalise(_relu_model(), "weights.bin"), str(missing_data))
    cases.append(("missing external data", missing_data, "missing external data file 'weights.bin'"))
    escaping = tmp_path / "sub" / "escaping.onnx"
    escaping.parent.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\0" * 16)
    onnx.save(_externalise(_relu_model(), "../secret.bin"), str(escaping))
    cases.append(("external data outside folder", escaping, "outside the model's folder"))
    absolute = tmp_path / "absolute.onnx"
    onnx.save(_externalise(_relu_model(), str(tmp_path / "secret.bin")), str(absolute))
    cases.append(("absolute external data", absolute, "absolute location"))
    short = tmp_path / "short.onnx"
    (tmp_path / "short.bin").write_bytes(b"\0" * 8)
    onnx.save(_externalise(_relu_model(), "short.bin"), str(short))
    cases.append(("short external data", short, "too short"))
    cycle = tmp_path / "cycle.onnx"
    graph = helper.make_graph(
        [helper.make_node("Relu", ["b"], ["a"], name="first"), helper.make_node("Relu", ["a"], ["b"], name="second")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [4])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(cycle))
    cases.append(("cycle", cycle, "has a cycle"))
    absurd = tmp_path / "absurd.onnx"
    model = _relu_model()
    model.graph.initializer[0].ClearField("dims")
    model.graph.initializer[0].dims.extend([2**40, 2**40])
    onnx.save(model, str(absurd))
    cases.append(("absurd dims", absurd, "absurd dims"))
    return cases


def test_each_bad_file_gives_one_line_and_exit_2(tmp_path, capsys):
    for name, path, fragment in _bad_files(tmp_path):
        code, out, err = _run(capsys, path)
        assert code == 2, name
        lines = err.splitlines()
        assert len(lines) == 1, (name, err)
        assert lines[0].startswith(f"onnxlint: error: {path}: "), (name, lines[0])
        assert fragment in lines[0], (name, lines[0])
        assert "Traceback" not in out + err


def test_json_reports_the_error_per_model_and_lints_the_rest(tmp_path, capsys):
    good = tmp_path / "good.onnx"
    onnx.save(_relu_model(), str(good))
    code, out, _ = _run(capsys, tmp_path / "nope.onnx", good, "--format", "json")
    assert code == 2
    results = json.loads(out)["results"]
    assert [(r["path"], r["error"]) for r in results] == [
        (str(tmp_path / "nope.onnx"), "no such file"),
        (str(good), None),
    ]
    assert results[1]["summary"]["rules_run"] > 0


def test_external_data_inside_the_folder_is_read_on_demand(tmp_path, capsys):
    model = _relu_model()
    path = tmp_path / "model.onnx"
    onnx.save(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="model.data",
        size_threshold=0,
    )
    code, _, err = _run(capsys, path)
    assert (code, err) == (0, "")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--format", "yaml", "m.onnx"], "invalid choice"),
        (["--select", "XX999", "m.onnx"], "unknown rule selector 'XX999'"),
        (["--target", "rk9999", "m.onnx"], "invalid choice"),
        (["--dynamic-axes", "{not json", "m.onnx"], "not valid JSON"),
        (["--dynamic-axes", '{"x": {"a": "b"}}', "m.onnx"], "integer axes"),
        (["--mean", "zero", "m.onnx"], "--mean: expected numbers"),
        (["--mean", "[[0, 0,", "m.onnx"], "--mean: not a JSON list"),
        (["--std", "255,0,255", "m.onnx"], "--std: a std value of 0"),
        (["--input-layout", "nwhc", "m.onnx"], "invalid choice"),
        (["explain", "NOPE"], "unknown rule 'NOPE'"),
        ([], "required"),
    ],
)
def test_usage_errors_are_one_line_exit_2(capsys, args, fragment):
    code, _, err = _run(capsys, *args)
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("onnxlint: error: ") and fragment in err, err
