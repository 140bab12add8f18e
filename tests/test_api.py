"""The Python API (onnxlint.lint / onnxlint.inspect) and third-party rules from entry points."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import onnx
import pytest
from conftest import FIXTURES, ROOT, parse

import onnxlint


def test_lint_a_path_with_target_and_deployment_facts():
    report = onnxlint.lint(
        FIXTURES / "yolov5n_norm_in_graph.onnx",
        target="rk3588",
        select=["TG007", "LY"],
        mean=[0, 0, 0],
        std="255,255,255",
    )
    assert report.error is None and report.toolkit.startswith("rknn-toolkit2 ")
    assert [f.code for f in report.findings] == ["LY002", "TG007"]


def test_lint_an_in_memory_model():
    model = onnx.load(str(FIXTURES / "yolov5n_training.onnx"))
    report = onnxlint.lint(model, select=["NM"])
    assert report.path == "<model>" and [f.code for f in report.findings] == ["NM001"]


def test_lint_a_script_and_an_unreadable_file(tmp_path):
    script = onnxlint.lint(FIXTURES / "scripts" / "export_dynaxes_typo.py")
    assert "IO005" in [f.code for f in script.findings]
    assert onnxlint.lint(tmp_path / "missing.onnx").error == "no such file"


def test_config_file_applies_when_named(tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.onnxlint]\nselect = ["LY002"]\n[tool.onnxlint.severity]\nLY002 = "error"\n')
    report = onnxlint.lint(FIXTURES / "yolov5n_norm_in_graph.onnx", config=config)
    assert [(f.code, f.severity.value) for f in report.findings] == [("LY002", "error")]


def test_confirm_and_baseline_as_on_the_command_line(tmp_path, capsys):
    from onnxlint.cli import main

    model = FIXTURES / "yolov5n_training.onnx"
    [finding] = onnxlint.lint(model, select=["NM001"], confirm=True, seed=3).findings
    assert finding.evidence is not None and finding.evidence.verdict == "confirmed"
    baseline = tmp_path / "baseline.json"
    assert main([str(model), "--select", "NM", "--write-baseline", str(baseline)]) == 0
    capsys.readouterr()
    assert onnxlint.lint(model, select=["NM"], baseline=baseline).findings == ()
    assert [f.code for f in onnxlint.lint(model, select=["NM"]).findings] == ["NM001"]


def test_an_in_memory_model_is_confirmed_and_reported_as_such():
    report = onnxlint.lint(onnx.load(str(FIXTURES / "yolov5n_training.onnx")), select=["NM001"], confirm=True)
    assert report.path == "<model>" and report.findings[0].evidence.verdict == "confirmed"


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="unknown rule selector 'QQ'"):
        onnxlint.lint(FIXTURES / "yolov5n_legacy_op12.onnx", select=["QQ"])
    with pytest.raises(ValueError, match="invalid target"):
        onnxlint.lint(FIXTURES / "yolov5n_legacy_op12.onnx", target="rk9999")
    with pytest.raises(TypeError, match="anchor"):
        onnxlint.lint(FIXTURES / "yolov5n_legacy_op12.onnx", anchor=[1, 2])


def test_inspect_path_and_model():
    summary = onnxlint.inspect(FIXTURES / "yolov5n_legacy_op12.onnx")
    assert summary["heads"][0]["rknn_outputs"] == [
        "/detect/m.0/Conv_output_0",
        "/detect/m.1/Conv_output_0",
        "/detect/m.2/Conv_output_0",
    ]
    in_memory = onnxlint.inspect(onnx.load(str(FIXTURES / "yolov5n_legacy_op12.onnx")))
    assert in_memory["path"] == "<model>" and in_memory["heads"] == summary["heads"]


def test_unknown_attribute():
    with pytest.raises(AttributeError):
        onnxlint.no_such_function  # noqa: B018


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    """tests/plugin installed into a folder of its own, found through PYTHONPATH (the test environment
    itself is left as it was). pip builds a copy: building in place would leave build/ and *.egg-info in the
    checkout, and mypy would then find the plugin's module twice."""
    target = tmp_path_factory.mktemp("plugin-site")
    source = shutil.copytree(ROOT / "tests" / "plugin", tmp_path_factory.mktemp("plugin-source") / "plugin")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return target


def _onnxlint(plugin_path, *args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_path), str(ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "onnxlint", *map(str, args)], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.slow
def test_plugin_rule_runs_is_listed_and_explained(plugin_path, tmp_path):
    model = tmp_path / "identity.onnx"
    onnx.save(
        parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[1, 4] x) => (float[1, 4] y) { y = Identity(x) }"""),
        str(model),
    )
    listed = _onnxlint(plugin_path, "rules", "--format", "json")
    assert "XP001" in [r["code"] for r in json.loads(listed.stdout)["rules"]]
    explained = _onnxlint(plugin_path, "explain", "identity-node")
    assert explained.returncode == 0 and "It does not; it is an example of a plugin rule." in explained.stdout
    linted = _onnxlint(plugin_path, model, "--select", "XP001", "--fail-on", "info", "--format", "json")
    assert linted.returncode == 1
    [finding] = json.loads(linted.stdout)["results"][0]["findings"]
    assert (finding["code"], finding["location"]["node"]) == ("XP001", "Identity_0")
    # the built-in rules still run beside it
    assert _onnxlint(plugin_path, FIXTURES / "yolov5n_training.onnx").returncode == 1


def test_broken_plugin_is_a_one_line_error(tmp_path):
    site = tmp_path / "site"
    (site / "broken_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "broken_plugin-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n"
    )
    (site / "broken_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[onnxlint.rules]\nbroken = no_such_module:Rule\n"
    )
    result = _onnxlint(site, "rules")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert "plugin 'broken' (no_such_module:Rule): cannot be imported" in result.stderr
