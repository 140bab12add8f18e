"""Names from a model and file names reach no output raw: no terminal escape, no injected line, no workflow command,
no bidirectional override, and file names that are not UTF-8 do not crash any format."""

from __future__ import annotations

import json
import os

import onnx
import pytest
from onnx import TensorProto, helper

from onnxlint.cli import main
from onnxlint.output.escape import encodable, visible

HOSTILE_NODE = "bn\x1b[2J\x1b]0;pwned\x07\n::error file=x::injected"
HOSTILE_TENSOR = "y\u202egnp.exe\r\n::warning::also injected"


def _training_bn_model() -> onnx.ModelProto:
    """A BatchNormalization in training mode (NM001 fires) whose node and output names are hostile."""
    values = {name: helper.make_tensor(name, TensorProto.FLOAT, [2], [1.0, 1.0]) for name in ("s", "b", "m", "v")}
    node = helper.make_node(
        "BatchNormalization", ["x", "s", "b", "m", "v"], [HOSTILE_TENSOR], name=HOSTILE_NODE, training_mode=1
    )
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
        [helper.make_tensor_value_info(HOSTILE_TENSOR, TensorProto.FLOAT, [1, 2, 4, 4])],
        list(values.values()),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])


def test_visible_escapes_controls_bidi_and_undecodable_bytes():
    assert visible("a\x1b[31mb\nc\td\x7f\x9b") == "a\\x1b[31mb\\x0ac\\x09d\\x7f\\x9b"
    assert visible("evil\u202etxt.onnx\u2066") == "evil\\u202etxt.onnx\\u2066"
    assert visible(os.fsdecode(b"m\xff.onnx")) == "m\\xff.onnx"
    assert visible("yölo 模型.onnx") == "yölo 模型.onnx"  # printable non-ASCII stays as it is


def test_encodable_keeps_everything_json_can_write():
    document = {"path": os.fsdecode(b"m\xff.onnx"), "names": ["a\x1b", "ö"], "n": 1}
    assert encodable(document) == {"path": "m\\xff.onnx", "names": ["a\x1b", "ö"], "n": 1}


@pytest.fixture
def hostile(tmp_path):
    path = tmp_path / "model \x1b[31m\n::error::name.onnx"
    onnx.save(_training_bn_model(), str(path))
    return path


def _lint(capsys, *args):
    code = main([str(a) for a in args])
    return code, *capsys.readouterr()


def test_text_report_shows_names_escaped(capsys, hostile):
    code, out, err = _lint(capsys, hostile, "--select", "NM001")
    assert code == 1 and err == ""
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out
    assert not any(line.startswith("::") for line in out.splitlines())
    assert "bn\\x1b[2J" in out and "\\x0a::error file=x::injected" in out


def test_github_annotations_stay_one_line_each(capsys, hostile):
    _, out, _ = _lint(capsys, hostile, "--select", "NM001", "--format", "github")
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("::error file=")
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_machine_formats_keep_names_exact(capsys, hostile, fmt):
    _, out, _ = _lint(capsys, hostile, "--select", "NM001", "--format", fmt)
    assert "\x1b" not in out  # json escapes control characters as \u001b
    assert HOSTILE_NODE in _strings(json.loads(out))  # the name itself is kept, exactly, for machines


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_file_names_that_are_not_utf8_work_in_every_format(capsys, tmp_path, fmt):
    raw = os.path.join(os.fsencode(tmp_path), b"model-\xff.onnx")
    with open(raw, "wb") as stream:
        stream.write(_training_bn_model().SerializeToString())
    missing = os.path.join(os.fsencode(tmp_path), b"missing-\xfe.onnx")
    code, out, err = _lint(capsys, os.fsdecode(raw), os.fsdecode(missing), "--select", "NM001", "--format", fmt)
    assert code == 2
    assert "Traceback" not in err and "missing-\\xfe.onnx: no such file" in err
    if fmt in ("json", "sarif"):
        out = "\n".join(_strings(json.loads(out)))
    assert "model-\\xff.onnx" in out or "model-%FF.onnx" in out


def _strings(value) -> set[str]:
    """Every string in a parsed JSON document."""
    if isinstance(value, str):
        return {value}
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return set().union(*map(_strings, items)) if items else set()
