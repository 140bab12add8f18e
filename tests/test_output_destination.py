"""--output and --write-baseline never destroy data: no report over an input of the run, symbolic links written
through, devices and folders refused, the replaced file's mode kept, no temporary file left behind."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys

import pytest
from conftest import FIXTURES

from onnxlint.cli import main
from onnxlint.output.destination import DestinationError, write_report

MODEL = FIXTURES / "yolov5n_training.onnx"


@pytest.fixture
def model(tmp_path):
    copy = tmp_path / "model.onnx"
    shutil.copy(MODEL, copy)
    return copy


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("option", ["--output", "--write-baseline"])
def test_report_over_the_model_is_refused_and_the_model_kept(capsys, model, option):
    before = model.read_bytes()
    assert main([str(model), option, str(model)]) == 2
    assert f"{option}: '{model}' is an input of this run" in _one_error_line(capsys)
    assert model.read_bytes() == before


def test_report_over_an_input_named_through_a_link_is_refused(capsys, model, tmp_path):
    link = tmp_path / "report.json"
    link.symlink_to(model)
    assert main([str(model), "--format", "json", "--output", str(link)]) == 2
    assert "is an input of this run" in _one_error_line(capsys)
    assert model.read_bytes() == MODEL.read_bytes()


def test_report_over_a_config_file_is_refused(capsys, model, tmp_path, monkeypatch):
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.onnxlint]\nfail-on = 'error'\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main([str(model), "--output", "pyproject.toml"]) == 2  # found by discovery, not named
    assert "is an input of this run" in _one_error_line(capsys)


def test_symlink_is_written_through(capsys, model, tmp_path):
    real = tmp_path / "reports" / "lint.json"
    real.parent.mkdir()
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    assert main([str(model), "--format", "json", "--output", str(link)]) == 1
    assert link.is_symlink() and '"schema_version": 1' in real.read_text(encoding="utf-8")


@pytest.mark.parametrize("target", ["/dev/null", "folder", "fifo"])
def test_non_regular_destinations_are_refused(capsys, model, tmp_path, target):
    if target == "folder":
        target = str(tmp_path)
    elif target == "fifo":
        os.mkfifo(tmp_path / "fifo")
        target = str(tmp_path / "fifo")
    assert main([str(model), "--output", target]) == 2
    assert "is not a regular file; refused" in _one_error_line(capsys)
    assert os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_missing_folder_and_empty_name_are_one_line(capsys, model, tmp_path):
    assert main([str(model), "--output", str(tmp_path / "no" / "r.txt")]) == 2
    assert "no folder" in _one_error_line(capsys)
    assert main([str(model), "--output", ""]) == 2
    assert "--output" in _one_error_line(capsys)


def test_mode_of_a_replaced_report_is_kept_and_a_new_one_follows_the_umask(capsys, model, tmp_path):
    kept = tmp_path / "kept.txt"
    kept.write_text("old", encoding="utf-8")
    kept.chmod(0o640)
    main([str(model), "--output", str(kept)])
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.txt"
    umask = os.umask(0o022)
    try:
        main([str(model), "--output", str(fresh)])
    finally:
        os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.txt", "kept.txt", "model.onnx"]


def test_failed_render_leaves_no_temporary_file(tmp_path):
    def broken(stream):
        stream.write("half")
        raise RuntimeError("renderer broke")

    target = tmp_path / "r.txt"
    with pytest.raises(RuntimeError):
        write_report("--output", str(target), broken)
    assert list(tmp_path.iterdir()) == []


def test_sigterm_while_writing_leaves_no_temporary_file(tmp_path):
    # A child process writes slowly; SIGTERM arrives mid-write: the temporary file must be gone after it exits.
    script = (
        "import sys, time\n"
        "from onnxlint.output.destination import write_report\n"
        "def slow(stream):\n"
        "    stream.write('x'); stream.flush(); print('writing', flush=True); time.sleep(30)\n"
        "write_report('--output', sys.argv[1], slow)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "r.txt")], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "writing"
    assert any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=20) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_destination_error_names_option_and_path(tmp_path):
    with pytest.raises(DestinationError, match=r"^--write-baseline: '/dev/null' is not a regular file; refused$"):
        write_report("--write-baseline", "/dev/null", lambda stream: None)
