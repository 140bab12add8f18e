"""What ships is what is tested: the sdist and the wheel built from it hold the whole tree, and the wheel, installed
in a fresh virtual environment outside the checkout, runs every command and format from another folder.

An editable install hides a missing subpackage or data file (onnxlint.confirm was once left out of the wheel), so
these tests never import onnxlint from the checkout: they run the installed console script.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.wheel

SMOKE_MODELS = ("yolov5n_dynamic_batch.onnx", "yolov5n_training.onnx", "yolov5n_legacy_op12.onnx")


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600):
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The sdist, then the wheel built from that sdist (so a file the sdist lacks breaks the wheel too), from a copy
    of the files git sees: a build/ or egg-info left in the checkout by an editable install must not fill gaps."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know the tracked files")
    source = tmp_path_factory.mktemp("source")
    for name in _tracked(".", "--others", "--exclude-standard") + _tracked("."):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    result = _run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], cwd=out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory) -> dict[str, str]:
    """A fresh venv (outside the checkout) with the wheel installed, and the environment to run it in."""
    venv = tmp_path_factory.mktemp("venv")
    result = _run([sys.executable, "-m", "venv", str(venv)], cwd=venv)
    assert result.returncode == 0, result.stderr
    wheel = next(built.glob("onnxlint-*.whl"))
    result = _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        cwd=venv,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV", "ONNXLINT_"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """Another folder, outside the checkout, holding copies of the fixtures."""
    folder = tmp_path_factory.mktemp("user project")
    for name in SMOKE_MODELS:
        shutil.copy(FIXTURES / name, folder / name)
    return folder


def _tracked(prefix: str, *options: str) -> list[str]:
    listed = subprocess.run(["git", "ls-files", *options, prefix], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in listed.stdout.splitlines() if line]


def test_wheel_holds_every_module_page_and_table(built):
    wheel = next(built.glob("onnxlint-*.whl"))
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = {path for path in _tracked("onnxlint") if not path.endswith(".pyc")}
    expected |= {"onnxlint/rules/" + path.removeprefix("rules/") for path in _tracked("rules")}
    missing = sorted(expected - shipped)
    assert not missing, f"the wheel lacks {missing}"
    stray = sorted(name for name in shipped - expected if not name.startswith("onnxlint-"))
    assert not stray, f"the wheel ships files the tree does not track: {stray}"


def test_sdist_holds_the_sources_and_the_knowledge_base(built):
    (sdist,) = built.glob("onnxlint-*.tar.gz")
    with tarfile.open(sdist) as archive:
        shipped = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected = {*_tracked("onnxlint"), *_tracked("rules"), "setup.py", "pyproject.toml", "README.md"}
    missing = sorted(expected - shipped)
    assert not missing, f"the sdist lacks {missing}"


def _onnxlint(installed, work, *args: str, code: int | None = None):
    result = _run(["onnxlint", *args], cwd=work, env=installed)
    assert "Traceback" not in result.stderr, result.stderr
    if code is not None:
        assert result.returncode == code, (args, result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    return result


def test_installed_commands_run_from_another_folder(installed, work):
    assert _onnxlint(installed, work, "--version", code=0).stdout.strip().startswith("onnxlint ")
    text = _onnxlint(installed, work, "yolov5n_dynamic_batch.onnx", code=1).stdout
    assert "IO002" in text and "Found 0 errors, 1 warning" in text
    targeted = _onnxlint(installed, work, "yolov5n_dynamic_batch.onnx", "--target", "rk3588", code=1).stdout
    assert "rk3588 with rknn-toolkit2" in targeted
    inspected = json.loads(
        _onnxlint(installed, work, "inspect", "yolov5n_legacy_op12.onnx", "--format", "json", code=0).stdout
    )
    assert inspected["models"][0]["heads"][0]["rknn_outputs"]
    assert "NM001" in _onnxlint(installed, work, "rules", code=0).stdout
    assert "## What it catches" in _onnxlint(installed, work, "explain", "NM001", code=0).stdout
    assert "fail-on" in _onnxlint(installed, work, "config", code=0).stdout
    module = _run(["python", "-m", "onnxlint", "--version"], cwd=work, env=installed)
    assert module.returncode == 0 and module.stdout.startswith("onnxlint ")


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_installed_formats(installed, work, fmt):
    result = _onnxlint(installed, work, "yolov5n_training.onnx", "--format", fmt, code=1)
    if fmt == "github":
        assert result.stdout.startswith("::error file=yolov5n_training.onnx,")
    else:
        document = json.loads(result.stdout)
        assert document["version" if fmt == "sarif" else "schema_version"] in ("2.1.0", 1)
    written = work / f"report.{fmt}"
    _onnxlint(installed, work, "yolov5n_training.onnx", "--format", fmt, "--output", str(written), code=1)
    assert written.read_text(encoding="utf-8") == result.stdout


def test_installed_confirm_and_compare(installed, work):
    confirmed = json.loads(
        _onnxlint(
            installed, work, "yolov5n_training.onnx", "--select", "NM001", "--confirm", "--format", "json", code=1
        ).stdout
    )
    evidence = confirmed["results"][0]["findings"][0]["evidence"]
    assert evidence["verdict"] == "confirmed" and evidence["backend"].startswith("onnxruntime")
    same = _onnxlint(
        installed, work, "compare", "yolov5n_legacy_op12.onnx", "yolov5n_legacy_op12.onnx", "--format", "json", code=0
    )
    assert json.loads(same.stdout)["first_divergence"] is None


def test_installed_quant(installed, work):
    # the quant package ships in the wheel and runs from it (a generated sample, a small model)
    result = _onnxlint(
        installed,
        work,
        "quant",
        "yolov5n_legacy_op12.onnx",
        "--target",
        "rv1106",
        "--top",
        "2",
        "--max-float-layers",
        "1",
        "--format",
        "json",
        code=0,
    )
    document = json.loads(result.stdout)
    assert document["samples"]["generated"] and document["proposal"]["integer_only"]


def test_installed_rknn_build_without_the_toolkit_is_one_line(installed, work):
    result = _onnxlint(installed, work, "rknn-build", "yolov5n_legacy_op12.onnx", "--target", "rk3588", code=2)
    assert result.stdout == ""
    assert re.fullmatch(r"onnxlint: error: rknn-toolkit2 is not installed[^\n]*\n", result.stderr), result.stderr


def test_readme_examples_from_the_installed_wheel(installed, tmp_path):
    # The README's first example, run as a new user would: from a folder holding fixtures/.
    (tmp_path / "fixtures").mkdir()
    shutil.copy(FIXTURES / "yolov5n_dynamic_batch.onnx", tmp_path / "fixtures")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"onnxlint fixtures/yolov5n_dynamic_batch.onnx\n```\n.*?```text\n(.*?)```", readme, re.DOTALL)
    assert quoted
    result = _onnxlint(installed, tmp_path, "fixtures/yolov5n_dynamic_batch.onnx", code=1)
    assert result.stdout == quoted.group(1)
    # The README's RKNN output-names example, as `inspect` prints it.
    shutil.copy(FIXTURES / "yolov5n_legacy_op12.onnx", tmp_path / "fixtures")
    (line,) = re.findall(r"^rknn\.load_onnx\(model='fixtures/yolov5n_legacy_op12\.onnx'.*$", readme, re.MULTILINE)
    inspected = _onnxlint(installed, tmp_path, "inspect", "fixtures/yolov5n_legacy_op12.onnx", code=0).stdout
    assert line in inspected.splitlines()
