import onnx
import pytest
from conftest import codes, lint_text

from onnxlint.core.graph import build_graphs
from onnxlint.core.model import load_model
from onnxlint.core.registry import LintSettings
from onnxlint.rknn import probe_ops as probe
from onnxlint.rknn.knowledge import family, known_chips, probe_table
from onnxlint.rknn.placement import _NodeTests, chip_knowledge, static_tensors
from onnxlint.rknn.targets import resolve_target

VERSION = "2.5.0"
SLICE = """<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 3, 64, 64] x) => (float[1, 3, H, 64] y)
  <int64[1] starts = {0}, int64[1] ends = {64}, int64[1] axes = {2}, int64[1] steps = {STEP}> {
    y = Slice(x, starts, ends, axes, steps)
}"""
LAYERNORM = """<ir_version: 8, opset_import: ["" : 17]>
g (float[1, 64, 32] x) => (float[1, 64, 32] y) <float[32] g = {ONES}, float[32] b = {ZEROS}> {
    y = LayerNormalization <axis = -1EPSILON> (x, g, b)
}""".replace("ONES", ", ".join(["1.0"] * 32)).replace("ZEROS", ", ".join(["0.0"] * 32))


def _on(chip):
    return LintSettings(target=resolve_target(chip, VERSION))


def test_warn_strided_slice_runs_on_cpu(tmp_path):
    text = SLICE.replace("H", "32").replace("STEP", "2")
    [finding] = lint_text(tmp_path, text, "TG006", settings=_on("rk3588")).findings
    assert finding.severity.value == "warning"
    assert finding.data["condition"] == "slice-step" and finding.data["outcome"] == "cpu"


def test_pass_unit_step(tmp_path):
    text = SLICE.replace("H", "64").replace("STEP", "1")
    assert codes(lint_text(tmp_path, text, "TG006", settings=_on("rk3588"))) == []


def test_fail_layernorm_without_epsilon(tmp_path):
    text = LAYERNORM.replace("EPSILON", "")
    [finding] = lint_text(tmp_path, text, "TG006", settings=_on("rk3588")).findings
    assert finding.severity.value == "error" and finding.data["outcome"] == "unsupported"
    assert "KeyError: 'LayerNormalization'" in finding.message


def test_pass_layernorm_with_epsilon(tmp_path):
    text = LAYERNORM.replace("EPSILON", ", epsilon = 0.00001")
    assert codes(lint_text(tmp_path, text, "TG006", settings=_on("rk3588"))) == []


def test_condition_that_changes_nothing_on_the_chip_is_left_to_the_operator_rules(tmp_path):
    # On rv1106 every probed LayerNormalization with epsilon runs on the CPU (exNorm): that is TG003's to say.
    text = LAYERNORM.replace("EPSILON", ", epsilon = 0.00001")
    assert codes(lint_text(tmp_path, text, "TG006", "TG003", settings=_on("rv1106"))) == ["TG003"]


def test_worst_matching_condition_decides(tmp_path):
    # Padding left out of the average (CPU everywhere) and ceil_mode with it (NPU on rv1106): the CPU verdict wins.
    text = """<ir_version: 8, opset_import: ["" : 13]>
    g (float[1, 16, 31, 31] x) => (float[1, 16, 16, 16] y) {
        y = AveragePool <kernel_shape = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1], ceil_mode = 1> (x)
    }"""
    [finding] = lint_text(tmp_path, text, "TG006", settings=_on("rv1106")).findings
    assert finding.data["condition"] == "averagepool-exclude-pad" and finding.data["outcome"] == "cpu"


KNOWLEDGE = chip_knowledge(VERSION, "rk3588")
assert KNOWLEDGE is not None, "rk3588 has probe data"
FAMILY = family(VERSION)
CITED = {spec["id"]: set(spec["cases"]) for spec in FAMILY["op_conditions"]}
CONDITIONED_OPS = {op for condition in KNOWLEDGE.conditions for op in condition.cases}


@pytest.mark.parametrize("case", [c for c in probe.CASES if c.op in CONDITIONED_OPS], ids=lambda c: c.id)
def test_each_condition_matches_exactly_the_cases_it_cites(tmp_path, case):
    """A condition must describe its evidence: it matches the probe models of the cases it cites and no other
    probe model of the same operator (whose outcome it would otherwise claim without evidence)."""
    model, _ = probe.build_model(case)
    path = tmp_path / "probe.onnx"
    onnx.save(model, str(path))
    graph = build_graphs(load_model(path))[0]
    [node] = [n for n in graph.nodes if n.name == "probe"]
    tests = _NodeTests(node, graph, static_tensors(graph))
    matching = {c.id for c in KNOWLEDGE.conditions if case.op in c.cases and tests.all(c.when)}
    citing = {condition_id for condition_id, cases in CITED.items() if case.id in cases}
    assert matching == citing


def test_every_cited_case_was_measured_on_every_chip():
    for chip in known_chips():
        measured = probe_table(VERSION, chip)["cases"]
        for condition_id, cases in CITED.items():
            assert cases <= set(measured), (chip, condition_id, cases - set(measured))
        assert set(FAMILY["probe_artefacts"]) <= set(measured), chip


RESHAPE_BY = """<ir_version: 8, opset_import: ["" : 13]>
g (float[1, 16, 32, 32] x, int64[3] target) => (float[1, 16, 1024] y)
  <int64[1] last = {1024}, int64[1] zero = {0}, int64[1] two = {2}> {
    TARGET
    y = Reshape(x, shape)
}"""


def test_fail_reshape_to_a_target_read_from_the_data(tmp_path):
    text = RESHAPE_BY.replace("TARGET", "shape = Identity(target)")
    [finding] = lint_text(tmp_path, text, "TG006", settings=_on("rk3588")).findings
    assert finding.data["condition"] == "size-input-computed" and finding.data["outcome"] == "unsupported"
    assert "need to be constant" in finding.message


def test_pass_reshape_to_a_target_computed_from_sizes(tmp_path):
    # Shape arithmetic folds once the input sizes are fixed, even behind a node whose sizes onnxlint cannot follow.
    text = RESHAPE_BY.replace(
        "TARGET",
        """h = com.example.Opaque(x)
    dims = Shape(h)
    head = Slice(dims, zero, two)
    shape = Concat <axis = 0> (head, last)""",
    ).replace('"" : 13]', '"" : 13, "com.example" : 1]')
    assert codes(lint_text(tmp_path, text, "TG006", settings=_on("rk3588"))) == []


FLATTEN = """<ir_version: 8, opset_import: ["" : 13]>
g (float[SHAPE] x) => (float[OUT] y) { y = Flatten <axis = 1> (x) }"""


def _flatten(shape: str, out: str) -> str:
    return FLATTEN.replace("SHAPE", shape).replace("OUT", out)


@pytest.mark.parametrize("shape, out", [("1, 3, 4, 5", "1, 60"), ("2, 3, 4, 5", "2, 60"), ("1, 3, 7, 9", "1, 189")])
def test_warn_reshape_of_unaligned_trailing_dims_on_rk3588(tmp_path, shape, out):
    """4 x 5 or 7 x 9 elements after the first two dims: the toolkit's Reshape runs on the CPU of rk3588."""
    [finding] = lint_text(tmp_path, _flatten(shape, out), "TG006", settings=_on("rk3588")).findings
    assert finding.data["condition"] == "unaligned-flatten" and finding.data["outcome"] == "cpu"


@pytest.mark.parametrize(
    "shape, out",
    [
        ("1, 3, 8, 9", "1, 216"),
        ("1, 16, 4, 4", "1, 256"),
        ("2, 16, 32, 32", "2, 16384"),
        ("1, 512, 1, 1", "1, 512"),  # a pooled vector: one element after the first two dims
        ("1, 6, 13, 13", "1, 1014"),  # 169: above the measured range, where whole models land either way
    ],
)
def test_pass_reshape_of_aligned_trailing_dims(tmp_path, shape, out):
    """Measured on the NPU of rk3588: 72, 16 and 1024 elements after the first two dims (the leading dim and the
    channel count do not matter), and one; no claim above 63."""
    assert codes(lint_text(tmp_path, _flatten(shape, out), "TG006", "TG003", settings=_on("rk3588"))) == []


@pytest.mark.parametrize("chip", ["rk3576", "rv1106"])
def test_pass_unaligned_reshape_where_the_npu_takes_it(tmp_path, chip):
    assert codes(lint_text(tmp_path, _flatten("1, 3, 7, 9", "1, 189"), "TG006", "TG003", settings=_on(chip))) == []


TRANSPOSE = """<ir_version: 8, opset_import: ["" : 13]>
g (float[SHAPE] x) => (float[OUT] y) { y = Transpose <perm = PERM> (x) }"""


@pytest.mark.parametrize(
    "shape, perm, out, expected",
    [
        ("2, 3, 4", "[0, 2, 1]", "2, 4, 3", ["TG006"]),  # wrapped in Reshapes of 4 trailing elements: CPU
        ("2, 3, 4", "[0, 1, 2]", "2, 3, 4", []),  # leaves the shape: built as a Reshape on the NPU
        ("2, 16, 32", "[0, 2, 1]", "2, 32, 16", []),  # 32 trailing elements: NPU
        ("1, 3, 4, 5", "[0, 1, 3, 2]", "1, 3, 5, 4", []),  # 4-D: no wrapping Reshape, not measured
    ],
)
def test_unaligned_transpose_only_where_the_toolkit_wraps_it(tmp_path, shape, perm, out, expected):
    text = TRANSPOSE.replace("SHAPE", shape).replace("PERM", perm).replace("OUT", out)
    assert codes(lint_text(tmp_path, text, "TG006", settings=_on("rk3588"))) == expected


def test_integer_only_probe_aborts_say_nothing_about_the_operator():
    """Not's rv1106 probe (bool in, bool out) died of integer_model_abort: no outcome for Not there, while the
    rk3588 probe's CPU placement stands."""
    message = family(VERSION)["integer_model_abort"]["message"]
    assert message in probe_table(VERSION, "rv1106")["cases"]["Not"]["messages"]
    assert "Not" not in chip_knowledge(VERSION, "rv1106").cases
    assert chip_knowledge(VERSION, "rk3588").baseline["Not"].outcome == "cpu"
