"""With the real rknn-toolkit2: every build-failure entry still fails as recorded without its workaround, builds
with it, and its near miss builds. When a toolkit release fixes a bug, this fails, so the table cannot go stale."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from onnxlint.rknn.buildfail import build_failures
from onnxlint.rknn.targets import installed_version, known_versions
from onnxlint.rknn.toolkit import build, toolkit_python

pytestmark = [
    pytest.mark.rknn,
    pytest.mark.skipif(toolkit_python() is None, reason="rknn-toolkit2 is not installed (or set ONNXLINT_RKNN_PYTHON)"),
]


def _failures():
    version = installed_version()
    return build_failures(version) if version in known_versions() else ()


CASES = [
    (failure, chip)
    for failure in _failures()
    for chip in (failure.chips or ("rk3588", "rv1106"))
    if chip in ("rk3588", "rv1106")
]


@pytest.mark.parametrize("failure, chip", CASES, ids=lambda x: getattr(x, "id", x))
def test_failure_reproduces_and_the_workaround_builds(failure, chip):
    failed = build(FIXTURES / failure.fixture, chip, verbose=True, timeout=600)
    assert failed.failed_stage is not None, failed.log[-3000:]
    if "SIGSEGV" in failure.message:
        assert failed.failed_stage == "crash (signal 11)"
        return _near_miss_builds(failure, chip)
    assert failed.failed_stage == "build", failed.log[-3000:]
    if failure.fusion_rule:
        assert f"disable_rules=['{failure.fusion_rule}']" in failed.log
        fixed = build(
            FIXTURES / failure.fixture, chip, timeout=600, config={"disable_rules": failure.workaround["disable_rules"]}
        )
        assert fixed.failed_stage is None, fixed.log[-3000:]
    key = failure.message.split("...")[-1].strip(" '")[-40:]  # the message's specific end
    assert key in " ".join(failed.error_lines(limit=10)), failed.error_lines(limit=10)
    _near_miss_builds(failure, chip)


def _near_miss_builds(failure, chip):
    near_miss = build(FIXTURES / failure.near_miss, chip, timeout=600)
    assert near_miss.failed_stage is None, near_miss.log[-3000:]
