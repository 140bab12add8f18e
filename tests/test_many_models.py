"""Folders, globs, --exclude, --jobs, and baselines."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import FIXTURES

from onnxlint.cli import main


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository of models: two healthy, one exported in training mode, in nested folders."""
    (tmp_path / "models" / "legacy").mkdir(parents=True)
    shutil.copy(FIXTURES / "yolov5n_legacy_op12.onnx", tmp_path / "models" / "good.onnx")
    shutil.copy(FIXTURES / "resnet_dynamo_op18_dynbatch.onnx", tmp_path / "models" / "legacy" / "cls.onnx")
    shutil.copy(FIXTURES / "yolov5n_training.onnx", tmp_path / "models" / "legacy" / "train.onnx")
    (tmp_path / "models" / "notes.txt").write_text("not a model")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _paths(out: str) -> list[str]:
    return [r["path"] for r in json.loads(out)["results"]]


def test_folder_is_searched_for_models_in_a_stable_order(repo, capsys):
    code, out, _ = _run(capsys, "models", "--format", "json")
    assert code == 1
    assert _paths(out) == ["models/good.onnx", "models/legacy/cls.onnx", "models/legacy/train.onnx"]


def test_glob_and_exclude(repo, capsys):
    assert _paths(_run(capsys, "models/**/*.onnx", "--format", "json")[1]) == [
        "models/good.onnx",
        "models/legacy/cls.onnx",
        "models/legacy/train.onnx",
    ]
    code, out, _ = _run(capsys, "models", "--exclude", "models/legacy/*", "--format", "json")
    assert code == 0 and _paths(out) == ["models/good.onnx"]
    assert _paths(_run(capsys, "models", "--exclude", "train.onnx", "--format", "json")[1]) == [
        "models/good.onnx",
        "models/legacy/cls.onnx",
    ]


def test_glob_without_match_is_a_usage_error(repo, capsys):
    code, _, err = _run(capsys, "models/*.tflite")
    assert code == 2 and "no file matches 'models/*.tflite'" in err


def test_parallel_output_equals_serial(repo, capsys):
    serial = _run(capsys, "models", "models", "--format", "json")
    parallel = _run(capsys, "models", "--jobs", "3", "--format", "json")
    assert parallel[0] == serial[0] == 1
    assert parallel[1] == serial[1]  # the same bytes, in the same order (repeated paths are linted once)
    code, _, err = _run(capsys, "models", "--jobs", "0")
    assert code == 2 and "argument --jobs: must be 1 or more" in err


def test_baseline_reports_only_new_findings(repo, capsys):
    code, out, _ = _run(capsys, "models", "--write-baseline", "baseline.json")
    assert code == 0 and "Found 1 error" in out
    recorded = json.loads((repo / "baseline.json").read_text())
    assert list(recorded["models"]) == ["models/legacy/train.onnx"]
    assert _run(capsys, "models", "--baseline", "baseline.json")[0] == 0
    # a regression in another model still fails
    shutil.copy(FIXTURES / "resnet_dropout_training.onnx", repo / "models" / "new.onnx")
    code, out, _ = _run(capsys, "models", "--baseline", "baseline.json", "--format", "json")
    assert code == 1
    assert [(r["path"], len(r["findings"])) for r in json.loads(out)["results"] if r["findings"]] == [
        ("models/new.onnx", 2)
    ]


def test_bad_baseline_is_one_line_exit_2(repo, capsys):
    (repo / "b.json").write_text("{}")
    for name, fragment in (("missing.json", "cannot read baseline"), ("b.json", "not an onnxlint baseline")):
        code, _, err = _run(capsys, "models", "--baseline", name)
        assert code == 2 and len(err.splitlines()) == 1 and fragment in err, err
