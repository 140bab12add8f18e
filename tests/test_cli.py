"""The command line: formats, exit codes, goldens, subcommands, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys

import onnx
import pytest
from conftest import FIXTURES, ROOT, parse

from onnxlint import __version__
from onnxlint.cli import main

GOLDEN_MODELS = [
    "yolov5n_legacy_op12.onnx",
    "yolov5n_dynamic_batch.onnx",
    "yolov5n_training.onnx",
    "yolov5n_norm_in_graph.onnx",
    "resnet_dropout_training.onnx",
    "resnet_nhwc_input.onnx",
    "scripts/export_dynaxes_typo.py",
]


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _normalised(text: str) -> str:
    return text.replace(f'"version": "{__version__}"', '"version": "[VERSION]"')


@pytest.mark.parametrize("name", GOLDEN_MODELS)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_golden_output(capsys, monkeypatch, golden, name, fmt):
    monkeypatch.chdir(ROOT)  # paths in the output are relative, as a user types them
    _code, out, err = _run(capsys, f"fixtures/{name}", "--format", fmt)
    assert err == ""
    stem = name.replace("/", "_").rsplit(".", 1)[0]
    golden(f"{stem}.{'txt' if fmt == 'text' else 'json'}", _normalised(out))


# Every format, and a --target report, have goldens: a change to any output shows up as a diff in review.
FORMAT_GOLDENS = [
    ("yolov5n_training.onnx", "sarif", ()),
    ("yolov5n_training.onnx", "github", ()),
    ("scripts/export_dynaxes_typo.py", "sarif", ()),
    ("scripts/export_dynaxes_typo.py", "github", ()),
    ("yolov5n_legacy_op12.onnx", "text", ("--target", "rk3588")),
    ("yolov5n_training.onnx", "json", ("--target", "rv1106")),
]


@pytest.mark.parametrize(
    "name, fmt, extra", FORMAT_GOLDENS, ids=[f"{n}-{f}{'-' + e[1] if e else ''}" for n, f, e in FORMAT_GOLDENS]
)
def test_golden_formats_and_targets(capsys, monkeypatch, golden, name, fmt, extra):
    monkeypatch.chdir(ROOT)
    _code, out, err = _run(capsys, f"fixtures/{name}", "--format", fmt, *extra)
    assert err == ""
    stem = name.replace("/", "_").rsplit(".", 1)[0] + (f".{extra[1]}" if extra else "")
    out = _normalised(out).replace(f'"semanticVersion": "{__version__}"', '"semanticVersion": "[VERSION]"')
    golden(f"{stem}.{ {'text': 'txt'}.get(fmt, fmt) }", out)


def test_json_document_shape(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = _run(
        capsys,
        "fixtures/yolov5n_training.onnx",
        "fixtures/yolov5n_legacy_op12.onnx",
        "--format",
        "json",
        "--target",
        "rk3588",
    )
    document = json.loads(out)
    assert document["schema_version"] == 1 and document["tool"] == {"name": "onnxlint", "version": __version__}
    first, second = document["results"]
    assert (first["path"], first["target"], first["error"]) == ("fixtures/yolov5n_training.onnx", "rk3588", None)
    # in topological order; with a target the training-mode export also carries the toolkit's refusal (TG008)
    assert [f["code"] for f in first["findings"]] == ["NM001", "TG008", "HD001"]
    finding = first["findings"][0]
    assert set(finding) == {"code", "rule", "severity", "message", "location", "fix", "data", "evidence", "related"}
    assert set(finding["location"]) == {"graph", "node", "op_type", "tensor", "line"}
    assert finding["evidence"] is None
    assert first["summary"]["error"] == 2 and first["summary"]["warning"] == 1
    # the decoded head joins sigmoid scores with boxes in pixels at each level: one cause, one finding (QT001, with
    # a target), the other two levels its related locations
    assert [(f["code"], len(f["related"])) for f in second["findings"]] == [("HD001", 2), ("QT001", 2)]
    assert {"code": "IO005", "reason": "no --dynamic-axes given for the .onnx model"} in second["summary"][
        "rules_skipped"
    ]
    assert code == 1


def test_json_is_deterministic(capsys):
    runs = [_run(capsys, FIXTURES / "yolov5n_training.onnx", "--format", "json")[1] for _ in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("fail_on, expected", [("error", 0), ("warning", 0), ("info", 1)])
def test_fail_on_threshold(capsys, fail_on, expected):
    # One info finding (normalisation in the graph) and nothing worse.
    code, _, _ = _run(capsys, FIXTURES / "yolov5n_norm_in_graph.onnx", "--fail-on", fail_on)
    assert code == expected


def test_select_and_ignore(capsys):
    path = FIXTURES / "resnet_dropout_training.onnx"
    assert _run(capsys, path, "--select", "NM002", "--format", "json")[0] == 1
    code, out, _ = _run(capsys, path, "--ignore", "NM", "--format", "json")
    assert code == 0 and json.loads(out)["results"][0]["findings"] == []


def test_text_escapes_rich_markup_in_names(tmp_path, capsys):
    model = parse("""<ir_version: 8, opset_import: ["" : 11]>
        g (float[4] x) => (float[4] y) { y = HardSwish(x) }""")
    model.graph.node[0].name = "[bold red]evil[/bold red]"
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    _, out, _ = _run(capsys, path)
    assert "[bold red]evil[/bold red] (HardSwish)" in out


def test_summary_line(capsys):
    _, out, _ = _run(capsys, FIXTURES / "yolov5n_legacy_op12.onnx", FIXTURES / "resnet_nhwc_input.onnx")
    assert out.splitlines()[-1].startswith("Found 0 errors, 0 warnings, 1 info in 2 files (")


def test_rules_lists_every_rule(capsys):
    from onnxlint.checks import ALL_RULES

    code, out, _ = _run(capsys, "rules", "--format", "json")
    assert code == 0
    assert [r["code"] for r in json.loads(out)["rules"]] == [r.code for r in ALL_RULES]
    _, text, _ = _run(capsys, "rules")
    assert all(r.code in text for r in ALL_RULES)


def test_explain_by_code_and_slug(capsys):
    code, out, _ = _run(capsys, "explain", "op-not-in-opset")
    assert code == 0 and "OP001 op-not-in-opset" in out and "What it catches" in out
    _, out, _ = _run(capsys, "explain", "OP001", "--format", "json")
    rule = json.loads(out)["rule"]
    assert rule["code"] == "OP001" and rule["doc"].startswith("# OP001 op-not-in-opset")


def test_inspect_summary(capsys):
    code, out, _ = _run(capsys, "inspect", FIXTURES / "yolov5n_legacy_op12.onnx", "--format", "json")
    [summary] = json.loads(out)["models"]
    assert code == 0
    assert summary["inputs"] == [
        {"name": "images", "dtype": "float32", "shape": [1, 3, 160, 160], "shape_text": "[1, 3, 160, 160]"}
    ]
    assert summary["opsets"] == {"ai.onnx": 12} and summary["ir_version"] == 7
    assert summary["node_count"] == sum(summary["op_histogram"].values())
    assert summary["parameter_count"] > 50_000
    assert summary["size_bytes"]["file"] == (FIXTURES / "yolov5n_legacy_op12.onnx").stat().st_size
    assert summary["weight_memory"]["fp16"]["bytes"] == 2 * summary["parameter_count"]
    assert summary["heads"][0]["rknn_outputs"] == [
        "/detect/m.0/Conv_output_0",
        "/detect/m.1/Conv_output_0",
        "/detect/m.2/Conv_output_0",
    ]
    _, text, _ = _run(capsys, "inspect", FIXTURES / "yolov5n_legacy_op12.onnx")
    assert (
        f"rknn.load_onnx(model='{FIXTURES / 'yolov5n_legacy_op12.onnx'}', outputs=['/detect/m.0/Conv_output_0', "
        "'/detect/m.1/Conv_output_0', '/detect/m.2/Conv_output_0'])"
    ) in text
    _, text, _ = _run(capsys, "inspect", FIXTURES / "lstm_if_legacy.onnx")
    assert "If" in text and "LSTM" in text and "1 subgraphs" not in text and "2 subgraphs" in text


def _python(*args, env=None):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=env)


def test_version_and_module_entry_point():
    result = _python("-m", "onnxlint", "--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"onnxlint {__version__}")


def test_version_and_static_lint_do_not_import_heavy_backends():
    probe = (
        "import sys; from onnxlint.cli import main; main(['--version']); "
        "assert 'onnx' not in sys.modules, 'onnx'; "
        "main(['fixtures/yolov5n_legacy_op12.onnx']); "
        "heavy = {'onnxruntime', 'onnxsim', 'torch'} & set(sys.modules); assert not heavy, heavy"
    )
    result = _python("-c", probe)
    assert result.returncode == 0, result.stderr


def test_deployment_preprocessing_options(capsys):
    """--mean/--std in rknn.config's own notation or as plain lists, --input-layout in either case."""
    model = FIXTURES / "yolov5n_norm_in_graph.onnx"
    for mean, std in (("[[0, 0, 0]]", "[[255, 255, 255]]"), ("0,0,0", "255 255 255")):
        code, out, _ = _run(capsys, model, "--mean", mean, "--std", std, "--select", "TG007", "--format", "json")
        [finding] = json.loads(out)["results"][0]["findings"]
        assert code == 1 and finding["data"]["deployment_std"] == [255, 255, 255]
    code, out, _ = _run(capsys, FIXTURES / "resnet_nhwc_input.onnx", "--input-layout", "NHWC", "--select", "TG007")
    assert code == 0, out


def test_a_deleted_working_folder_is_one_line(tmp_path, monkeypatch, capsys):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    code = main([str(FIXTURES / "yolov5n_training.onnx")])
    err = capsys.readouterr().err
    assert code == 2 and err.splitlines() == [
        "onnxlint: error: the current folder no longer exists (deleted after the shell entered it); cd to one that does"
    ]
