"""Hostile and broken input (issue 12): special files, unreadable paths, absurd scripts, broken configs and
baselines, and option values that parse but mean nothing. Each ends in one line naming the file or option and
the problem, exit 2, never a traceback, a hang or unbounded memory; other files of the run are still linted."""

from __future__ import annotations

import errno
import json
import os
import signal
import time

import onnx
import pytest
from conftest import parse

from onnxlint.cli import main
from onnxlint.core.files import MAX_TEXT_BYTES

GOOD_MODEL = """
<ir_version: 8, opset_import: ["" : 17]>
g (float[1, 4] x) => (float[1, 4] y) { y = Relu(x) }
"""
DEEP = 60_000  # far past any recursion limit


class Hung(BaseException):
    """Not an OSError, so that no `except OSError` in the code under test can swallow it."""


@pytest.fixture
def no_hang():
    """Fail instead of hanging: opening a FIFO without O_NONBLOCK waits for a writer that never comes."""

    def expire(signum, frame):
        raise Hung("onnxlint hung on a special file")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.onnx"
    onnx.save(parse(GOOD_MODEL), str(path))
    return path


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _one_error(err: str, *fragments) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("onnxlint: error: ") and all(str(f) in lines[0] for f in fragments), lines[0]
    return lines[0]


def _assert_bad_then_good(capsys, bad, good, reason, *options):
    """`bad` is reported in one line with `reason`, exit 2, and `good`, given after it, is still linted."""
    code, out, err = _run(capsys, bad, good, "--format", "json", *options)
    assert code == 2
    assert _one_error(err, reason).startswith(f"onnxlint: error: {bad}: ")
    results = {r["path"]: r for r in json.loads(out)["results"]}
    assert reason in results[str(bad)]["error"]
    assert results[str(good)]["error"] is None and results[str(good)]["summary"]["rules_run"] > 0


def _fifo(path):
    os.mkfifo(path)
    return path


def _link_to_dev_zero(path):
    path.symlink_to("/dev/zero")
    return path


SPECIAL_FILES = [
    (_fifo, "is a named pipe, not a regular file"),
    (_link_to_dev_zero, "is a character device, not a regular file"),
]


# Paths and special files ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".onnx", ".py"])
@pytest.mark.parametrize("make, reason", SPECIAL_FILES, ids=["fifo", "dev-zero"])
def test_special_files_are_refused_without_reading(tmp_path, capsys, good, no_hang, suffix, make, reason):
    _assert_bad_then_good(capsys, make(tmp_path / f"special{suffix}"), good, reason)


def test_a_fifo_swapped_in_after_the_check_is_refused_not_read(tmp_path, monkeypatch, no_hang):
    """The model file is checked by name, then opened: a FIFO put in its place between the two is caught by the
    check made through the open descriptor (the race is staged by letting the first check see a regular file)."""
    from onnxlint.core import model as loader

    swapped = _fifo(tmp_path / "swapped.onnx")
    regular = os.stat(__file__)
    monkeypatch.setattr(loader, "regular_file", lambda path, max_size=None: regular)
    with pytest.raises(loader.ModelLoadError) as refused:
        loader.load_model(swapped)
    assert refused.value.reason == "is a named pipe, not a regular file"


@pytest.mark.parametrize("suffix", [".onnx", ".py"])
def test_a_file_name_too_long_for_the_system(tmp_path, capsys, good, suffix):
    _assert_bad_then_good(capsys, tmp_path / ("m" * 300 + suffix), good, "file name too long")


def _deny(monkeypatch, denied, function="stat"):
    """As root (CI) chmod 000 does not stop reads: make `os.<function>` refuse `denied` as the kernel would."""
    real = getattr(os, function)

    def refusing(path, *args, **kwargs):
        if os.fspath(path) == str(denied):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, function, refusing)


def test_a_file_in_an_unreadable_folder(tmp_path, capsys, good, monkeypatch):
    model = tmp_path / "locked" / "model.onnx"
    _deny(monkeypatch, model)
    _assert_bad_then_good(capsys, model, good, "permission denied")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads through chmod 000; the mocked test above covers this")
def test_a_file_in_an_unreadable_folder_for_real(tmp_path, capsys, good):
    locked = tmp_path / "locked"
    locked.mkdir()
    onnx.save(parse(GOOD_MODEL), str(locked / "model.onnx"))
    locked.chmod(0)
    try:
        _assert_bad_then_good(capsys, locked / "model.onnx", good, "permission denied")
    finally:
        locked.chmod(0o755)


def _folder_with_a_locked_subfolder(tmp_path):
    models = tmp_path / "models"
    (models / "private").mkdir(parents=True)
    onnx.save(parse(GOOD_MODEL), str(models / "a.onnx"))
    onnx.save(parse(GOOD_MODEL), str(models / "private" / "b.onnx"))
    return models


def _assert_folder_reported_and_rest_linted(capsys, models):
    code, out, err = _run(capsys, models, "--format", "json")
    assert code == 2
    _one_error(err, f"{models / 'private'}: cannot search folder (Permission denied)")
    results = {r["path"]: r["error"] for r in json.loads(out)["results"]}
    assert results == {
        str(models / "private"): "cannot search folder (Permission denied)",
        str(models / "a.onnx"): None,
    }


def test_an_unreadable_subfolder_is_reported_and_the_rest_linted(tmp_path, capsys, monkeypatch):
    models = _folder_with_a_locked_subfolder(tmp_path)
    _deny(monkeypatch, models / "private", "scandir")
    _assert_folder_reported_and_rest_linted(capsys, models)


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists folders through chmod 000; the mocked test above covers it")
def test_an_unreadable_subfolder_for_real(tmp_path, capsys):
    models = _folder_with_a_locked_subfolder(tmp_path)
    (models / "private").chmod(0)
    try:
        _assert_folder_reported_and_rest_linted(capsys, models)
    finally:
        (models / "private").chmod(0o755)


# Export scripts ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("deep.py", b"x = " + b"-" * 200_000 + b"1\n", "nested too deeply to analyse"),
        ("chain.py", b"x = " + b"a + " * 5_000 + b"a\n", "nested too deeply to analyse"),  # parses; too deep to visit
        ("huge.py", b"x = 1\n" * (MAX_TEXT_BYTES // 6 + 1), "too large"),
        ("latin1.py", b"import torch\ns = '\xe9'\n", "not UTF-8 text (byte 0xe9 at offset 18)"),
        ("cookie.py", b"# -*- coding: klingon -*-\n", "unknown encoding: klingon"),
    ],
)
def test_scripts_that_cannot_be_analysed(tmp_path, capsys, good, name, content, reason):
    script = tmp_path / name
    script.write_bytes(content)
    started = time.monotonic()
    _assert_bad_then_good(capsys, script, good, reason)
    assert time.monotonic() - started < 30  # the 50 MB script used to take minutes and gigabytes


@pytest.mark.parametrize(
    "content",
    [
        (
            "# -*- coding: latin-1 -*-\nimport torch\nname = 'caf\xe9'\n"
            "torch.onnx.export(m, x, 'm.onnx', opset_version=11)\n"
        ).encode("latin-1"),
        b"\xef\xbb\xbfimport torch\ntorch.onnx.export(m, x, 'm.onnx', opset_version=11)\n",
    ],
    ids=["pep263-latin1", "utf8-bom"],
)
def test_declared_encodings_are_honoured(tmp_path, capsys, content):
    script = tmp_path / "export.py"
    script.write_bytes(content)
    code, out, err = _run(capsys, script, "--format", "json")
    assert err == "" and code != 2
    assert json.loads(out)["results"][0]["error"] is None


# Config files -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda path: path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff"), "not UTF-8 text (byte 0x89 at offset 0)"),
        (lambda path: path.write_text("[tool.onnxlint]\nx = " + "[" * 5_000 + "]" * 5_000), "nested too deeply"),
        (_fifo, "is a named pipe"),
        (_link_to_dev_zero, "is a character device"),
    ],
    ids=["binary", "deep", "fifo", "dev-zero"],
)
def test_a_config_that_cannot_be_used(tmp_path, capsys, good, no_hang, make, reason):
    config = tmp_path / "onnxlint.toml"
    make(config)
    code, _, err = _run(capsys, good, "--config", config)
    assert code == 2
    _one_error(err, config, reason)


def test_discovery_passes_over_a_broken_pyproject_that_is_not_ours(tmp_path, capsys, good, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.onnxlint]\nselect = ["LY002"]\n')
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_bytes(b'[project]\nname = "caf\xe9\n')  # latin-1 and unterminated
    monkeypatch.chdir(project)
    code, out, err = _run(capsys, "config", "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["config_file"] == str(tmp_path / "pyproject.toml")  # the search went on upward
    assert _run(capsys, good)[0] == 0


def test_discovery_reports_a_broken_pyproject_that_is_ours(tmp_path, capsys, good, monkeypatch):
    (tmp_path / "pyproject.toml").write_bytes(b"[tool.onnxlint]\ntarget = \xff\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, good)
    assert code == 2
    _one_error(err, tmp_path / "pyproject.toml", "not UTF-8 text")


# Baselines --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda path: path.write_text("[]"), "not an onnxlint baseline"),
        (lambda path: path.write_text('"models"'), "not an onnxlint baseline"),
        (lambda path: path.write_text("null"), "not an onnxlint baseline"),
        (lambda path: path.write_bytes(b'{"models": "\xff"}'), "not UTF-8 text"),
        (lambda path: path.write_text("[" * DEEP + "]" * DEEP), "nested too deeply"),
        (_fifo, "is a named pipe"),
    ],
    ids=["list", "string", "null", "not-utf8", "deep", "fifo"],
)
def test_a_baseline_that_cannot_be_used(tmp_path, capsys, good, no_hang, make, reason):
    baseline = tmp_path / "baseline.json"
    make(baseline)
    code, _, err = _run(capsys, good, "--baseline", baseline)
    assert code == 2
    _one_error(err, f"--baseline: {baseline}: ", reason)


# Option values ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--mean", "[" * DEEP + "]" * DEEP], "--mean: not a JSON list of numbers (nested too deeply)"),
        (["--anchors", "[" * DEEP + "]" * DEEP], "--anchors: not a JSON list of numbers (nested too deeply)"),
        (["--dynamic-axes", '{"x": ' + "[" * DEEP + "]" * DEEP + "}"], "--dynamic-axes: not valid JSON (nested too"),
        (["--dynamic-axes", '{"x": {"0": 5}}'], "dynamic axes of 'x' must be named by strings"),
        (["--mean", "[[NaN, Infinity]]"], "--mean: not a JSON list of numbers (NaN is not a number JSON allows)"),
        (["--std", "1e999, 1, 1"], "--std: inf is not a finite number"),
        (["--std", '["255"]'], '--std: not a JSON list of numbers ("255" is not a number)'),
        (["--anchors", "[[10, 13, 16, 1e999]]"], "--anchors: inf is not a finite number"),
        (["--mean", "[1" + "0" * 5_000 + "]"], "--mean: not a JSON list of numbers"),
        (["--classes", "9" * 5_000], "--classes: expected a class count"),
        (["--rtol", "nan"], "argument --rtol: expected a finite number, got 'nan'"),
        (["--atol", "-1"], "argument --atol: a tolerance cannot be negative"),
        (["--seed", "-1"], "argument --seed: must be 0 or more, got -1"),
        (["--output", ""], "argument --output: expected a file name, got an empty string"),
        (["--write-baseline", ""], "argument --write-baseline: expected a file name"),
        (["--baseline", ""], "argument --baseline: expected a file name"),
        (["--config", ""], "argument --config: expected a file name"),
        (["--confirm", "--inputs", ""], "argument --inputs: expected a file name"),
        (["compare", "a.onnx", "b.onnx", "--min-cosine", "nan"], "argument --min-cosine: expected a finite number"),
        (["compare", "a.onnx", "b.onnx", "--min-cosine", "1.5"], "a cosine similarity lies in [-1, 1], got 1.5"),
        (["rknn-build", "m.onnx", "--target", "rk3588", "--rounds", "0"], "argument --rounds: must be 1 or more"),
    ],
)
def test_option_values_that_mean_nothing(capsys, args, fragment):
    if args[0] not in ("compare", "rknn-build"):
        args = [*args, "m.onnx"]
    code, _, err = _run(capsys, *args)
    assert code == 2
    _one_error(err, fragment)


@pytest.mark.parametrize("option", ["--anchors", "--classes", "--dynamic-axes", "--inputs", "--reference"])
@pytest.mark.parametrize("make, reason", SPECIAL_FILES, ids=["fifo", "dev-zero"])
def test_option_files_that_are_special(tmp_path, capsys, good, no_hang, option, make, reason):
    special = make(tmp_path / "special.txt")
    confirm = ["--confirm"] if option in ("--inputs", "--reference") else []
    code, _, err = _run(capsys, good, option, special, *confirm)
    assert code == 2
    _one_error(err, f"{option}: ", f"cannot read '{special}' ({reason})")
