"""[tool.onnxlint] in pyproject.toml: discovery, precedence, policy, errors, `onnxlint config`."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES

from onnxlint.cli import main

MODEL = FIXTURES / "yolov5n_norm_in_graph.onnx"


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _project(tmp_path, body: str):
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "models"\n\n[tool.onnxlint]\n{body}\n')
    nested = tmp_path / "models" / "detect"
    nested.mkdir(parents=True)
    return nested


def _findings(out: str) -> list[tuple[str, str, str | None]]:
    return [
        (f["code"], f["severity"], f["location"]["node"])
        for result in json.loads(out)["results"]
        for f in result["findings"]
    ]


def test_found_from_a_subfolder_and_overridden_on_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(_project(tmp_path, 'select = ["LY002"]\nfail-on = "error"'))
    code, out, _ = _run(capsys, MODEL, "--format", "json")
    assert code == 0 and [c for c, _, _ in _findings(out)] == ["LY002"]  # info, below fail-on = error
    code, out, _ = _run(capsys, MODEL, "--format", "json", "--fail-on", "info")
    assert code == 1
    code, out, _ = _run(capsys, MODEL, "--format", "json", "--select", "NM")
    assert _findings(out) == []


def test_deployment_facts_and_target_from_the_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(_project(tmp_path, 'select = ["TG007"]\nmean = [0, 0, 0]\nstd = [255, 255, 255]'))
    code, out, _ = _run(capsys, MODEL, "--format", "json")
    assert code == 1 and [c for c, _, _ in _findings(out)] == ["TG007"]


def test_severity_override_and_suppressions(tmp_path, capsys, monkeypatch):
    body = """select = ["TG003"]
target = "rk3568"
toolkit = "2.5.0"
[tool.onnxlint.severity]
target-cpu-fallback = "error"
[tool.onnxlint.per-node-ignores]
"/model/detect/Trans*" = ["TG003"]"""
    monkeypatch.chdir(_project(tmp_path, body))
    _code, out, _ = _run(capsys, MODEL, "--format", "json")
    assert _findings(out) == [("TG003", "error", "/model/detect/Reshape")]  # the Transposes are suppressed
    (tmp_path / "models" / "detect" / "m.onnx").write_bytes(MODEL.read_bytes())
    (tmp_path / "pyproject.toml").write_text(
        (tmp_path / "pyproject.toml").read_text() + '\n[tool.onnxlint.per-model-ignores]\n"models/**/m.onnx" = ["TG"]\n'
    )
    _code, out, _ = _run(capsys, "m.onnx", MODEL, "--format", "json")
    results = json.loads(out)["results"]
    assert [len(r["findings"]) for r in results] == [0, 1]


@pytest.mark.parametrize(
    "body, fragment",
    [
        ('targt = "rk3588"', "unknown key 'targt'"),
        ('target = "rk9999"', "[tool.onnxlint] target: invalid target 'rk9999'"),
        ('select = ["XX999"]', "[tool.onnxlint] select: unknown rule selector 'XX999'"),
        ('fail-on = "fatal"', "[tool.onnxlint] fail-on: invalid severity 'fatal'"),
        ('[tool.onnxlint.severity]\nNM001 = "loud"', "[tool.onnxlint] severity: invalid severity 'loud'"),
        ('[tool.onnxlint.per-node-ignores]\n"*" = ["ZZ001"]', "per-node-ignores: unknown rule selector 'ZZ001'"),
        ('mean = "zero"', "[tool.onnxlint] mean: --mean: expected numbers"),
        ("select = 3", "select: expected a list"),
        ("[tool", "not valid TOML"),
    ],
)
def test_bad_config_is_one_line_exit_2(tmp_path, capsys, monkeypatch, body, fragment):
    monkeypatch.chdir(_project(tmp_path, body))
    code, _out, err = _run(capsys, MODEL)
    assert code == 2 and len(err.splitlines()) == 1 and fragment in err, err
    assert str(tmp_path / "pyproject.toml") in err


def test_explicit_config_file(tmp_path, capsys):
    config = tmp_path / "onnxlint.toml"
    config.write_text('[tool.onnxlint]\nselect = ["LY002"]\n')
    code, out, _ = _run(capsys, MODEL, "--config", config, "--format", "json")
    assert [c for c, _, _ in _findings(out)] == ["LY002"]
    code, _, err = _run(capsys, MODEL, "--config", tmp_path / "missing.toml")
    assert code == 2 and "missing.toml: cannot read" in err


def test_config_command_names_each_source(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(_project(tmp_path, 'target = "rk3588"\nanchors = "anchors.txt"'))
    (tmp_path / "anchors.txt").write_text("10,13, 16,30, 33,23\n")
    code, out, _ = _run(capsys, "config", "--fail-on", "info", "--format", "json")
    document = json.loads(out)
    settings = document["settings"]
    assert code == 0 and document["config_file"] == str(tmp_path / "pyproject.toml")
    assert settings["target"] == {"value": "rk3588", "source": str(tmp_path / "pyproject.toml")}
    assert settings["fail-on"] == {"value": "info", "source": "command line"}
    assert settings["select"]["source"] == "default"
    assert settings["anchors"]["value"] == str(tmp_path / "anchors.txt")  # found from the config's folder


def test_config_command_checks_values(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(_project(tmp_path, 'anchors = "anchors.txt"'))
    code, _, err = _run(capsys, "config")
    assert code == 2 and f"cannot read '{tmp_path / 'anchors.txt'}'" in err
    (tmp_path / "anchors.txt").write_text("10,13, 16,30, 33,23\n")
    assert _run(capsys, "config")[0] == 0


def test_rule_options_are_checked_against_what_the_rule_declares(tmp_path, capsys, monkeypatch):
    body = """select = ["TG003"]
target = "rk3568"
toolkit = "2.5.0"
[tool.onnxlint.rules.target-cpu-fallback]
accept-ops = ["Reshape"]"""
    monkeypatch.chdir(_project(tmp_path, body))
    code, out, _ = _run(capsys, MODEL, "--format", "json")
    assert [node for _, _, node in _findings(out)] == ["/model/detect/Transpose"]  # Reshape is accepted
    for bad, fragment in (
        ("[tool.onnxlint.rules.TG003]\nshow = 1", "TG003 has no option 'show'"),
        ('[tool.onnxlint.rules.TG003]\naccept-ops = "Reshape"', "takes a list"),
        ("[tool.onnxlint.rules.NOPE]\nx = 1", "unknown rule 'NOPE'"),
    ):
        (tmp_path / "pyproject.toml").write_text(f"[tool.onnxlint]\n{bad}\n")
        code, _, err = _run(capsys, MODEL)
        assert code == 2 and "[tool.onnxlint] rules:" in err and fragment in err, err
