"""Property test: whatever bytes a file holds, linting ends in a report or a one-line error."""

from __future__ import annotations

from conftest import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onnxlint.checks import ALL_RULES
from onnxlint.engine import lint_file

SEED_MODEL = (FIXTURES / "lstm_if_legacy.onnx").read_bytes()


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(SEED_MODEL)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[at:at + draw(st.integers(1, 64))]
        if not data:
            break
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=mutated())
def test_mutated_model_never_crashes(tmp_path, content):
    path = tmp_path / "mutated.onnx"
    path.write_bytes(content)
    report = lint_file(path, ALL_RULES)
    if report.error is not None:
        assert report.error and "\n" not in report.error
