"""Bounds on running models (--confirm, the rules that run the model, compare): time and memory limits in a
child process, sizes checked before allocation, and the inputs, models and toolkits that cannot run."""

from __future__ import annotations

import json
import os
import time
import zipfile

import numpy as np
import onnx
import pytest
from conftest import parse
from onnx import TensorProto, helper

from onnxlint.cli import main
from onnxlint.confirm.inputs import MAX_ARRAY_BYTES, random_inputs
from onnxlint.core import sandbox

RELU = """<ir_version: 8, opset_import: ["" : 13]>
g ({dtype}[{shape}] x) => ({dtype}[{shape}] y) {{ y = Relu(x) }}"""


def _save(folder, name: str, model: onnx.ModelProto):
    path = folder / name
    onnx.save(model, str(path))
    return path


def _endless_loop() -> onnx.ModelProto:
    """x -> Loop whose condition stays true and that has no trip count -> training-mode Dropout -> y."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Identity", ["v_in"], ["v_out"])],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_in", TensorProto.FLOAT, ["N"]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_out", TensorProto.FLOAT, ["N"]),
        ],
    )
    nodes = [
        helper.make_node("Constant", [], ["keep_going"], value=helper.make_tensor("t", TensorProto.BOOL, [], [True])),
        helper.make_node("Loop", ["", "keep_going", "x"], ["looped"], body=body, name="endless"),
        helper.make_node("Constant", [], ["training"], value=helper.make_tensor("m", TensorProto.BOOL, [], [True])),
        helper.make_node("Dropout", ["looped", "", "training"], ["y"], name="dropout"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def _billion_floats() -> onnx.ModelProto:
    """174 bytes that ask for 4 GB: ConstantOfShape of 10^9 floats (its output type left out, so OP003 fires)."""
    nodes = [
        helper.make_node(
            "Constant", [], ["shape"], value=helper.make_tensor("s", TensorProto.INT64, [1], [1_000_000_000])
        ),
        helper.make_node(
            "ConstantOfShape", ["shape"], ["y"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])
        ),
    ]
    graph = helper.make_graph(nodes, "g", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def _lint_json(capfd, *args) -> tuple[int, list[dict], str]:
    code = main([str(a) for a in args] + ["--format", "json"])
    out, err = capfd.readouterr()
    return code, json.loads(out)["results"][0]["findings"], err


def _one_line_error(capsys, *args) -> str:
    assert main([str(a) for a in args]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("onnxlint: error: "), err
    return err


def test_an_endless_loop_is_stopped_and_what_finished_keeps_its_evidence(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("ONNXLINT_RKNN_PYTHON", str(tmp_path / "nonexistent"))
    path = _save(tmp_path, "loop.onnx", _endless_loop())
    started = time.monotonic()
    _code, findings, _ = _lint_json(
        capfd,
        path,
        "--confirm",
        "--run-timeout",
        "5",
        "--target",
        "rk3588",
        "--toolkit",
        "2.5.0",
        "--select",
        "TG002,NM002",
    )
    assert time.monotonic() - started < 20
    evidence = {f["code"]: f["evidence"] for f in findings}
    # TG002 (the dynamic input) comes first and needs no run: its evidence came back before the limit...
    assert evidence["TG002"]["verdict"] == "skipped"
    assert (
        evidence["TG002"]["detail"] == f"ONNXLINT_RKNN_PYTHON names '{tmp_path / 'nonexistent'}', which does not exist"
    )
    # ...while the Dropout's confirmation runs the endless Loop.
    assert evidence["NM002"] == {
        "backend": "inference-mode",
        "verdict": "inconclusive",
        "metrics": {},
        "detail": "the confirmation run stopped after the 5 s time limit (--run-timeout)",
    }


def test_a_rule_that_runs_the_model_is_stopped_by_the_time_limit(tmp_path, capfd):
    _code, [finding], _ = _lint_json(
        capfd, _save(tmp_path, "loop.onnx", _endless_loop()), "--confirm", "--run-timeout", "3", "--select", "NM006"
    )
    assert finding["severity"] == "info" and finding["message"].endswith(
        "stopped after the 3 s time limit (--run-timeout)"
    )
    assert finding["evidence"]["verdict"] == "inconclusive"


def test_a_billion_floats_go_over_the_memory_limit_quietly(tmp_path, capfd):
    _code, findings, err = _lint_json(
        capfd,
        _save(tmp_path, "big.onnx", _billion_floats()),
        "--confirm",
        "--run-memory",
        "512",
        "--select",
        "OP003,NM006",
    )
    over = "went over the 512 MiB memory limit (--run-memory)"
    assert [(f["code"], f["evidence"]["verdict"]) for f in findings] == [
        ("NM006", "inconclusive"),
        ("OP003", "inconclusive"),
    ]
    assert all(f["evidence"]["detail"].endswith(over) for f in findings)
    assert err == ""  # onnxruntime's coloured allocation errors stay in the child


def test_limits_are_checked(capsys, tmp_path):
    model = _save(tmp_path, "m.onnx", parse(RELU.format(dtype="float", shape="1, 4")))
    for value in ("0", "-3", "nan", "inf"):
        assert "--run-timeout must be a positive number" in _one_line_error(
            capsys, model, "--confirm", "--run-timeout", value
        )
    assert "--run-memory must be a positive number" in _one_line_error(capsys, model, "--confirm", "--run-memory", "0")
    assert "need --confirm" in _one_line_error(capsys, model, "--run-timeout", "5")
    assert "--run-memory must be a positive number" in _one_line_error(
        capsys, "compare", model, model, "--run-memory", "-1"
    )


def test_jobs_with_confirm(tmp_path, capfd):
    paths = [
        _save(
            tmp_path,
            f"{n}.onnx",
            parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[N, 3] x) => (float[M, 3] y) { y = Relu(x) }"""),
        )
        for n in ("a", "b")
    ]
    outputs = []
    for jobs in ("1", "2"):
        assert main([*map(str, paths), "--confirm", "--select", "IO001", "--jobs", jobs, "--format", "json"]) == 1
        outputs.append(capfd.readouterr().out)
    assert outputs[0] == outputs[1]
    verdicts = [f["evidence"]["verdict"] for r in json.loads(outputs[0])["results"] for f in r["findings"]]
    assert verdicts == ["confirmed", "confirmed"]


# --- sizes checked before allocation --------------------------------------------------------------------


def test_generated_inputs_are_sized_before_allocation():
    six_dynamic = parse(RELU.format(dtype="float", shape="a, b, c, d, e, f"))  # 1 x 64^5 floats: 4 GiB
    with pytest.raises(
        ValueError,
        match=r"input 'x' would be \[1, 64, 64, 64, 64, 64\] float32 \(4 GiB\), "
        r"over the 2 GiB limit",
    ):
        random_inputs(six_dynamic)


def test_a_zero_size_dim_stays_zero():
    assert random_inputs(parse(RELU.format(dtype="float", shape="0, 4")))["x"].shape == (0, 4)


def test_npz_header_is_checked_before_loading(tmp_path, capsys):
    from numpy.lib import format as npy

    claims = tmp_path / "claims.npz"
    with zipfile.ZipFile(claims, "w") as archive, archive.open("x.npy", "w") as member:
        npy.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False, "shape": (1 << 40,)})
    assert MAX_ARRAY_BYTES < 4 << 40
    model = _save(tmp_path, "m.onnx", parse(RELU.format(dtype="float", shape="1, 4")))
    err = _one_line_error(capsys, model, "--confirm", "--inputs", claims)
    assert "'x' declares [1099511627776] float32 (4 TiB), over the 2 GiB limit on one input array" in err
    assert "'x' declares" in _one_line_error(capsys, "compare", model, model, "--inputs", claims)


def test_npy_and_other_files_are_not_inputs(tmp_path, capsys):
    model = _save(tmp_path, "m.onnx", parse(RELU.format(dtype="float", shape="1, 4")))
    np.save(tmp_path / "x.npy", np.zeros((1, 4), np.float32))
    assert "it is a .npy file, one array" in _one_line_error(capsys, model, "--confirm", "--inputs", tmp_path / "x.npy")
    (tmp_path / "x.txt").write_text("1 2 3 4\n")
    assert "it is not a zip archive" in _one_line_error(capsys, model, "--confirm", "--reference", tmp_path / "x.txt")


# --- compare: models that cannot be compared ----------------------------------------------------------------


@pytest.mark.parametrize(
    "other, fragment",
    [
        (RELU.format(dtype="float", shape="1, 8"), "'x' is float32 [1, 4] in {a} and float32 [1, 8] in {b}"),
        (RELU.format(dtype="int64", shape="1, 4"), "'x' is float32 [1, 4] in {a} and int64 [1, 4] in {b}"),
        (RELU.format(dtype="float", shape="1, 4, 1"), "'x' is float32 [1, 4] in {a} and float32 [1, 4, 1] in {b}"),
    ],
)
def test_compare_inputs_of_another_shape_or_type(tmp_path, capsys, other, fragment):
    a = _save(tmp_path, "a.onnx", parse(RELU.format(dtype="float", shape="1, 4")))
    b = _save(tmp_path, "b.onnx", parse(other))
    err = _one_line_error(capsys, "compare", a, b)
    assert "the models' inputs differ: " + fragment.format(a=a, b=b) in err


def test_compare_inputs_that_do_not_fit(tmp_path, capsys):
    a = _save(tmp_path, "a.onnx", parse(RELU.format(dtype="float", shape="1, 4")))
    np.savez(tmp_path / "in.npz", x=np.zeros((2, 4), np.float64))
    err = _one_line_error(capsys, "compare", a, a, "--inputs", tmp_path / "in.npz")
    assert f"--inputs: 'x' is float64 [2, 4], but {a} takes float32 [1, 4]" in err


@pytest.mark.parametrize(
    "text, fragment",
    [
        (
            """<ir_version: 8, opset_import: ["" : 13, "com.example" : 1]>
        g (float[1, 4] x) => (float[1, 4] y) { y = com.example.Foo(x) }""",
            "com.example:Foo(-1) is not a registered",
        ),
        (
            """<ir_version: 8, opset_import: ["" : 13]>
        g (float[1, 4] x) => (float[1, 4] y) { y = Relu(missing) }""",
            "Node input 'missing' is not a graph input",
        ),
    ],
)
def test_compare_a_model_onnxruntime_refuses(tmp_path, capsys, text, fragment):
    a = _save(tmp_path, "a.onnx", parse(RELU.format(dtype="float", shape="1, 4")))
    b = _save(tmp_path, "b.onnx", parse(text))
    err = _one_line_error(capsys, "compare", a, b)
    assert f"{b}: onnxruntime refuses the model: " in err and fragment in err


def test_compare_a_cyclic_model(tmp_path, capsys):
    a = _save(tmp_path, "a.onnx", parse(RELU.format(dtype="float", shape="1, 4")))
    nodes = [
        helper.make_node("Add", ["x", "q"], ["p"], name="first"),
        helper.make_node("Relu", ["p"], ["q"], name="second"),
        helper.make_node("Identity", ["q"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    b = _save(tmp_path, "b.onnx", helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8))
    assert "has a cycle" in _one_line_error(capsys, "compare", a, b)


def test_compare_inputs_too_big_to_generate(tmp_path, capsys):
    a = _save(tmp_path, "a.onnx", parse(RELU.format(dtype="float", shape="a, b, c, d, e, f")))
    assert "over the 2 GiB limit on one input array" in _one_line_error(capsys, "compare", a, a)


def test_compare_stops_at_the_time_limit(tmp_path, capsys):
    loop = _save(tmp_path, "loop.onnx", _endless_loop())
    err = _one_line_error(capsys, "compare", loop, loop, "--run-timeout", "2")
    assert "the comparison stopped after the 2 s time limit (--run-timeout)" in err


# --- ONNXLINT_RKNN_PYTHON naming no interpreter ---------------------------------------------------------


def test_a_toolkit_python_that_is_not_there(tmp_path, capsys, monkeypatch):
    model = _save(tmp_path, "m.onnx", parse(RELU.format(dtype="float", shape="1, 4")))
    monkeypatch.setenv("ONNXLINT_RKNN_PYTHON", "/nonexistent/python")
    expected = "ONNXLINT_RKNN_PYTHON names '/nonexistent/python', which does not exist"
    assert expected in _one_line_error(capsys, "compare", model, "--rknn", "rk3588")
    assert expected in _one_line_error(capsys, "rknn-build", model, "--target", "rk3588")
    not_executable = tmp_path / "python"
    not_executable.write_text("")
    monkeypatch.setenv("ONNXLINT_RKNN_PYTHON", str(not_executable))
    assert f"names '{not_executable}', which is not executable" in _one_line_error(
        capsys, "rknn-build", model, "--target", "rk3588"
    )


# --- the sandbox itself ---------------------------------------------------------------------------------------


def _count_and_return(n: int) -> str:
    for i in range(n):
        sandbox.emit(i, i * i)
    return "done"


def _raise_value_error():
    raise ValueError("a reason")


def _abort():
    os.abort()


def test_sandbox_streams_returns_and_raises():
    seen = []
    limits = sandbox.Limits(timeout_s=60, memory_mib=1024)
    assert sandbox.run(_count_and_return, 3, limits=limits, on_emit=lambda i, square: seen.append(square)) == "done"
    assert seen == [0, 1, 4]
    # a result many times a pipe's buffer arrives whole; a child that runs no model need not load onnxruntime
    assert sandbox.run(bytes, 1 << 22, limits=limits, loads_onnxruntime=False) == bytes(1 << 22)
    with pytest.raises(ValueError, match="a reason"):
        sandbox.run(_raise_value_error, limits=limits)
    with pytest.raises(sandbox.ChildFailed, match="the run was killed by SIGABRT"):
        sandbox.run(_abort, limits=limits)
    with pytest.raises(sandbox.LimitExceeded, match="went over the 256 MiB memory limit"):
        sandbox.run(np.ones, 1 << 30, limits=sandbox.Limits(timeout_s=60, memory_mib=256))
    with pytest.raises(sandbox.LimitExceeded, match=r"stopped after the 0\.5 s time limit"):
        sandbox.run(time.sleep, 30, limits=sandbox.Limits(timeout_s=0.5, memory_mib=1024))
