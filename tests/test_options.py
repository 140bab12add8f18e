"""The option table (onnxlint/settings/table.py) is the one declaration of every option: each command's parser,
[tool.onnxlint]'s keys, onnxlint.lint's keywords and `onnxlint config`'s rows all come from it."""

from __future__ import annotations

import ast
import json
import re

import pytest
from conftest import ROOT

import onnxlint
from onnxlint.cli import SUBCOMMANDS, main
from onnxlint.settings.config import KEYS
from onnxlint.settings.table import API_KEYWORDS, BY_NAME, COMMANDS, CONFIG_KEYS, LINT, OPTIONS, SHOWN_BY_CONFIG


def _usage_flags(capsys, command: str) -> list[str]:
    """The options a command's parser takes, read from its usage lines (`onnxlint [COMMAND] --help`)."""
    with pytest.raises(SystemExit):
        main([*([] if command == "lint" else [command]), "--help"])
    usage = capsys.readouterr().out.split("\n\n")[0]
    return re.findall(r"\[(--[a-z][a-z0-9-]*)", usage) + re.findall(r"(?<=\s)(--[a-z][a-z0-9-]*) [A-Z]", usage)


def test_each_option_is_declared_once():
    names = [option.name for option in OPTIONS]
    assert len(names) == len(set(names))
    for command, taken in COMMANDS.items():
        assert len(taken) == len(set(taken)), command
        assert set(taken) <= set(BY_NAME), command


def test_no_option_is_declared_outside_the_table():
    """Parsers get their options from add_options; only --version (argparse's own action) is added by hand. The probe
    tool (python -m onnxlint.rknn.probe_ops) is a maintainer's tool with its own options, not an onnxlint command."""
    declared = []
    for path in (ROOT / "onnxlint").rglob("*.py"):
        if path.name == "probe_ops.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
                declared += [
                    (path.name, arg.value)
                    for arg in node.args
                    if isinstance(arg, ast.Constant) and str(arg.value).startswith("-")
                ]
    assert declared == [("cli.py", "--version")]


@pytest.mark.parametrize("command", ["lint", *SUBCOMMANDS])
def test_each_parser_takes_exactly_its_table_options(capsys, command):
    flags = _usage_flags(capsys, command)
    assert sorted(set(flags) - {"--version"}) == sorted(f"--{name}" for name in COMMANDS[command])


def test_config_keys_and_api_keywords_come_from_the_table():
    assert tuple(CONFIG_KEYS) == KEYS
    for option in OPTIONS:
        if option.toml and option.toml != "table":  # a key of [tool.onnxlint] with a command-line form
            assert option.name in LINT, option.name
    assert {option.name for option in API_KEYWORDS.values()} <= set(LINT)  # onnxlint.lint takes lint options


def test_config_prints_every_setting_of_a_lint_run(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["config", "--format", "json", "--run-timeout", "30", "--confirm", "--show-all"]) == 0
    settings = json.loads(capsys.readouterr().out)["settings"]
    assert sorted(settings) == sorted(option.name for option in SHOWN_BY_CONFIG)
    assert {name for name in LINT if not BY_NAME[name].operand} | set(CONFIG_KEYS) == set(settings)
    assert settings["run-timeout"] == {"value": 30.0, "source": "command line"}
    assert settings["show-all"] == {"value": True, "source": "command line"}
    assert settings["run-memory"]["source"] == "default" and settings["seed"] == {"value": 0, "source": "default"}


def test_help_shows_the_defaults_the_run_applies(capsys):
    from onnxlint.confirm.metrics import Tolerance
    from onnxlint.core.sandbox import Limits

    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"--confirm's relative tolerance (default: {Tolerance().rtol:.0e})".replace("e-03", "e-3") in text
    assert f"stop each run of a model after SECONDS (default: {Limits().timeout_s:g})" in text
    assert "lowest severity that makes the exit code 1 (default: warning)" in text


def test_readme_documents_every_option_key_and_keyword():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    usage = readme.split("## Commands", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    for command, taken in COMMANDS.items():
        if command == "config":
            continue  # "[any lint setting]"
        line = usage.split(f"onnxlint {command} " if command != "lint" else "onnxlint PATH...", 1)[1]
        line = line.split("\nonnxlint ", 1)[0]
        for name in taken:
            assert f"--{name}" in line, (command, name)
    configuration = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for key in CONFIG_KEYS:
        assert re.search(rf"^(\[tool\.onnxlint\.)?{key}\b", configuration, re.MULTILINE), key
    api = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    for keyword in API_KEYWORDS:
        assert f"`{keyword}`" in api or f"{keyword}=" in api, keyword


def test_api_refuses_what_the_command_line_refuses(tmp_path):
    model = ROOT / "fixtures" / "yolov5n_norm_in_graph.onnx"
    with pytest.raises(ValueError, match=r"lint\(rtol=...\): a tolerance cannot be negative"):
        onnxlint.lint(model, rtol=-1, confirm=True)
    with pytest.raises(ValueError, match="--inputs and --reference need --confirm"):
        onnxlint.lint(model, inputs=tmp_path / "x.npz")
    with pytest.raises(ValueError, match=r"--baseline: .*cannot read baseline"):
        onnxlint.lint(model, baseline=tmp_path / "missing.json")
    with pytest.raises(TypeError, match="jobs"):
        onnxlint.lint(model, jobs=2)  # a command-line matter: one model per call
