"""One hand-built model per cause of a former crash on a malformed file (found by tests/test_fuzz.py): each now
gives findings, or one line saying why the file cannot be read, and never an internal error."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from conftest import lint_proto, rule
from onnx import TensorProto, helper, numpy_helper

from onnxlint.checks import ALL_RULES
from onnxlint.core.engine import lint_file
from onnxlint.core.graph import build_graphs
from onnxlint.core.model import UnreadableTensor, load_model
from onnxlint.core.registry import LintSettings
from onnxlint.rknn.targets import known_versions, resolve_target

RK3588 = LintSettings(target=resolve_target("rk3588", known_versions()[-1]))


def _model(nodes, inputs, outputs, initializers=(), opset=17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def _value(name, shape, elem_type=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem_type, shape)


def _clean(report):
    assert report.error is None, report.error
    assert not report.internal_errors, [(e.source, e.exception, e.message) for e in report.internal_errors]
    return report


def _batch_norm(mean: TensorProto) -> onnx.ModelProto:
    stats = [
        numpy_helper.from_array(np.full(4, value, np.float32), name)
        for name, value in (("scale", 1), ("bias", 0), ("var", 1))
    ]
    return _model(
        [helper.make_node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"])],
        [_value("x", [1, 4, 8, 8])],
        [_value("y", [1, 4, 8, 8])],
        [*stats, mean],
    )


def _short_raw_data(tensor):
    tensor.raw_data = tensor.raw_data[:-3]


def _unknown_type(tensor):
    tensor.data_type = 999


def _undefined_type(tensor):
    tensor.data_type = TensorProto.UNDEFINED


def _string_data(tensor):
    tensor.ClearField("raw_data")
    tensor.data_type = TensorProto.STRING
    tensor.string_data.extend([b"0"] * 4)


def _typed_data_of_another_size(tensor):
    tensor.ClearField("raw_data")
    tensor.float_data.extend([0.0, 0.0])


MALFORMED_TENSORS = [_short_raw_data, _unknown_type, _undefined_type, _string_data, _typed_data_of_another_size]


@pytest.mark.parametrize("corrupt", MALFORMED_TENSORS, ids=lambda f: f.__name__.strip("_"))
def test_read_tensor_refuses_malformed_tensor(tmp_path, corrupt):
    mean = numpy_helper.from_array(np.zeros(4, np.float32), "mean")
    loaded = load_model(_saved(tmp_path, _batch_norm(mean)))
    corrupt(mean)
    with pytest.raises(UnreadableTensor):
        loaded.read_tensor(mean)


# A small constant with short raw_data is refused at load already (shape inference would read past it):
# test_short_raw_data_in_a_small_constant_is_refused_at_load.
@pytest.mark.parametrize(
    "corrupt", [c for c in MALFORMED_TENSORS if c is not _short_raw_data], ids=lambda f: f.__name__.strip("_")
)
def test_bn_statistics_that_cannot_be_read_are_not_judged(tmp_path, corrupt):
    mean = numpy_helper.from_array(np.zeros(4, np.float32), "mean")
    corrupt(mean)
    report = _clean(lint_proto(tmp_path, _batch_norm(mean), "NM004"))
    assert report.findings == ()  # the mean is unknown, so not "the default 0"


def test_normalization_constant_of_string_data_is_not_judged(tmp_path):
    mean = helper.make_tensor("mean", TensorProto.STRING, [1, 3, 1, 1], [b"1", b"2", b"3"])
    model = _model(
        [helper.make_node("Sub", ["x", "mean"], ["y"])],
        [_value("x", [1, 3, 8, 8])],
        [_value("y", [1, 3, 8, 8])],
        [mean],
    )
    assert _clean(lint_proto(tmp_path, model, "LY002")).findings == ()


@pytest.mark.parametrize(
    "ratio",
    [
        helper.make_tensor("ratio", TensorProto.FLOAT, [0], []),  # empty
        # an array: onnx's annotation of make_tensor admits no list of bytes, which STRING tensors take too
        helper.make_tensor("ratio", TensorProto.STRING, [], np.array([b"half"], dtype=object)),
        helper.make_tensor("ratio", TensorProto.FLOAT, [2], [0.1, 0.2]),  # not one value
    ],
    ids=["empty", "string", "two values"],
)
def test_malformed_dropout_ratio_falls_back_to_the_default(tmp_path, ratio):
    training = numpy_helper.from_array(np.array(True), "training")
    model = _model(
        [helper.make_node("Dropout", ["x", "ratio", "training"], ["y"])],
        [_value("x", [4])],
        [_value("y", [4])],
        [ratio, training],
    )
    (finding,) = _clean(lint_proto(tmp_path, model, "NM002")).findings
    assert finding.data == {"training_mode": True, "ratio": 0.5}


def test_dropout_ratio_attribute_of_another_type_reads_as_absent(tmp_path):
    dropout = helper.make_node("Dropout", ["x"], ["y"], is_test=0)
    dropout.attribute.append(helper.make_attribute("ratio", "half"))
    model = _model([dropout], [_value("x", [4])], [_value("y", [4])], opset=6)
    (finding,) = _clean(lint_proto(tmp_path, model, "NM002")).findings
    assert finding.data["ratio"] == 0.5


def test_empty_training_mode_tensor_is_unknown(tmp_path):
    model = _model(
        [helper.make_node("Dropout", ["x", "", "training"], ["y"])],
        [_value("x", [4])],
        [_value("y", [4])],
        [helper.make_tensor("training", TensorProto.BOOL, [0], [])],
    )
    (finding,) = _clean(lint_proto(tmp_path, model, "NM002")).findings
    assert finding.data["training_mode"] is None  # read as a value onnxlint cannot know


def test_anchor_free_head_with_unknown_conv_shapes_is_not_read(tmp_path):
    """A DFL over two levels of box convolutions whose output shapes inference cannot know (the input has none):
    heads.py used to index the missing shape."""
    nodes, inits, flats = [], [], []
    for level in range(2):
        inits.append(numpy_helper.from_array(np.zeros((64, 3, 1, 1), np.float32), f"w{level}"))
        nodes += [
            helper.make_node("Conv", ["x", f"w{level}"], [f"box{level}"]),
            helper.make_node("Reshape", [f"box{level}", "flat"], [f"flat{level}"]),
        ]
        flats.append(f"flat{level}")
    inits += [
        numpy_helper.from_array(np.array([1, 64, -1], np.int64), "flat"),
        numpy_helper.from_array(np.array([1, 4, 16, -1], np.int64), "dfl"),
    ]
    nodes += [
        helper.make_node("Concat", flats, ["boxes"], axis=2),
        helper.make_node("Reshape", ["boxes", "dfl"], ["bins"]),
        helper.make_node("Softmax", ["bins"], ["y"], axis=2),
    ]
    model = _model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)], [_value("y", None)], inits)
    report = _clean(lint_proto(tmp_path, model, "HD001", "HD002", "HD005", settings=RK3588))
    assert report.findings == ()


@pytest.mark.parametrize(
    "perm",
    [None, [0.0, 2.0, 3.0, 1.0], [0, 2, 3], [0, 5, 7, 1]],
    ids=["absent", "floats", "too short", "not a permutation"],
)
def test_transpose_after_an_image_input_with_any_perm(tmp_path, perm):
    """layout.py used to look the channel axis up in perm: 'ValueError: 1 is not in list'."""
    transpose = helper.make_node("Transpose", ["x"], ["t"])
    if perm is not None:
        transpose.attribute.append(helper.make_attribute("perm", perm))
    scale = numpy_helper.from_array(np.full((1, 1, 1, 3), 1 / 255, np.float32), "scale")
    model = _model(
        [transpose, helper.make_node("Mul", ["t", "scale"], ["y"])],
        [_value("x", [1, 3, 8, 8])],
        [_value("y", None)],
        [scale],
    )
    _clean(
        lint_proto(
            tmp_path,
            model,
            "LY001",
            "LY002",
            "TG007",
            settings=LintSettings(target=RK3588.target, mean=(0, 0, 0), std=(1, 1, 1)),
        )
    )


def test_softmax_axis_of_another_type_and_scalar_input(tmp_path):
    """buildfail.py took axis % rank: a list axis, and rank 0, used to crash TG008 and TG006."""
    k = numpy_helper.from_array(np.ones((4, 4), np.float32), "k")
    softmax = helper.make_node("Softmax", ["s"], ["p"])
    softmax.attribute.append(helper.make_attribute("axis", [1, 2]))
    model = _model(
        [
            helper.make_node("MatMul", ["q", "k"], ["s"]),
            softmax,
            helper.make_node("MatMul", ["p", "k"], ["y"]),
            helper.make_node("Softmax", ["scalar"], ["z"], axis=0),
        ],
        [_value("q", [4, 4]), _value("scalar", [])],
        [_value("y", [4, 4]), _value("z", [])],
        [k],
    )
    _clean(lint_proto(tmp_path, model, "TG006", "TG008", settings=RK3588))


def test_node_missing_a_required_input_reads_it_as_absent(tmp_path):
    """NM003 and the placement's Shape test indexed node.inputs[0] of a node that has none."""
    nodes = [helper.make_node("BatchNormalization", [], ["y"]), helper.make_node("Shape", [], ["s"])]
    model = _model(nodes, [_value("x", [4])], [_value("y", [4]), _value("s", [1], TensorProto.INT64)])
    report = _clean(lint_file(_saved(tmp_path, model), ALL_RULES, RK3588))
    assert "OP003" in {f.code for f in report.findings}  # onnx.checker names the malformed node


def test_string_attribute_that_is_not_utf8(tmp_path):
    resize = helper.make_node("Resize", ["x", "", "scales"], ["y"])
    resize.attribute.append(helper.make_attribute("mode", b"\xffnearest"))
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    model = _model([resize], [_value("x", [1, 3, 8, 8])], [_value("y", [1, 3, 16, 16])], [scales])
    _clean(lint_file(_saved(tmp_path, model), [rule("TG003"), rule("TG005"), rule("TG006")], RK3588))


def test_io_of_an_element_type_onnx_does_not_define(tmp_path):
    """TG004 named the type with TensorProto.DataType.Name, which raises for 999."""
    model = _model([helper.make_node("Identity", ["x"], ["y"])], [_value("x", [4], 999)], [_value("y", [4], 999)])
    _clean(lint_proto(tmp_path, model, "TG004", settings=RK3588))


def test_name_that_is_not_utf8_is_a_corrupted_file(tmp_path):
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [_value("x", [4])], [_value("y", [4])])
    data = model.SerializeToString().replace(b"\x12\x01y", b"\x12\x01\xa7")  # the output's and the node's "y"
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    assert "not valid UTF-8" in lint_file(path, ALL_RULES).error


@pytest.mark.parametrize(
    "marker, field",
    [
        (b"batchZ", "Dimension.dim_param"),
        (b"weightZ", "NodeProto.input"),  # the walk meets the Greater node reading it before the initializer
        (b"alphaZ", "AttributeProto.name"),
        (b"then_Z", "NodeProto.name"),  # inside an If's subgraph
    ],
    ids=["dim_param", "initializer name", "attribute name", "subgraph node name"],
)
def test_garbled_string_anywhere_is_named(tmp_path, marker, field):
    """The check runs in protobuf's C parser; the Python walk that names the field runs only when it fails."""
    then = helper.make_graph(
        [helper.make_node("Identity", ["w"], ["t"], name="then_Z")], "then", [], [_value("t", [4])]
    )
    nodes = [
        helper.make_node("LeakyRelu", ["x"], ["l"], alpha=0.1),
        helper.make_node("Greater", ["x", "weightZ"], ["c"]),
        helper.make_node("ReduceMax", ["c"], ["m"], keepdims=0),
        helper.make_node("If", ["m"], ["y"], then_branch=then, else_branch=then),
    ]
    nodes[0].attribute[0].name = "alphaZ"
    model = _model(
        nodes,
        [_value("x", ["batchZ", 4])],
        [_value("y", [4]), _value("l", ["batchZ", 4])],
        [numpy_helper.from_array(np.zeros(4, np.float32), "weightZ")],
    )
    clean = tmp_path / "clean.onnx"
    clean.write_bytes(model.SerializeToString())
    assert lint_file(clean, ALL_RULES).error is None
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString().replace(marker, marker[:-1] + b"\xa7"))
    assert lint_file(path, ALL_RULES).error.endswith(f"corrupted: a {field} is not valid UTF-8")


def test_garbled_tensor_doc_string_is_not_refused(tmp_path):
    """Tensor doc strings and external-data keys are never shown: they are read as bytes, as before."""
    weight = numpy_helper.from_array(np.zeros(4, np.float32), "w")
    weight.doc_string = "docZ"
    model = _model([helper.make_node("Add", ["x", "w"], ["y"])], [_value("x", [4])], [_value("y", [4])], [weight])
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString().replace(b"docZ", b"doc\xa7"))
    assert lint_file(path, ALL_RULES).error is None


@pytest.mark.parametrize("version", [1 << 31, -(1 << 40), (1 << 63) - 1])
def test_opset_version_out_of_int_range_is_refused(tmp_path, version):
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [_value("x", [4])], [_value("y", [4])])
    model.opset_import[0].version = version
    assert "out of range" in lint_file(_saved(tmp_path, model), ALL_RULES).error


def test_ir_version_out_of_int_range_is_refused(tmp_path):
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [_value("x", [4])], [_value("y", [4])])
    model.ir_version = 1 << 40
    assert "IR version" in lint_file(_saved(tmp_path, model), ALL_RULES).error


@pytest.mark.parametrize("location", ["weights\0.bin", "x" * 5000 + ".bin"], ids=["NUL byte", "name too long"])
def test_external_data_location_the_file_system_refuses(tmp_path, location):
    model = _model(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        [_value("x", [4])],
        [_value("y", [4])],
        [numpy_helper.from_array(np.zeros(4, np.float32), "w")],
    )
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    error = lint_file(_saved(tmp_path, model), ALL_RULES).error
    assert error and "\n" not in error and "external data" in error


def test_constant_node_value_of_another_type(tmp_path):
    constant = helper.make_node("Constant", [], ["c"])
    constant.attribute.append(helper.make_attribute("value_float", "one"))
    model = _model([constant, helper.make_node("Add", ["x", "c"], ["y"])], [_value("x", [4])], [_value("y", [4])])
    graphs = build_graphs(load_model(_saved(tmp_path, model)))
    assert graphs[0].constant("c") is None


def _saved(tmp_path, model) -> str:
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path))
    return str(path)


def test_short_raw_data_in_a_small_constant_is_refused_at_load(tmp_path):
    # onnx 1.18's C++ shape inference reads such a constant past its end and crashes the process.
    axis = onnx.TensorProto(name="axis", data_type=onnx.TensorProto.INT64, dims=[1], raw_data=b"\x01\x00\x00")
    node = onnx.helper.make_node("Unsqueeze", ["x", "axis"], ["y"])
    graph = onnx.helper.make_graph(
        [node],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [3])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        [axis],
    )
    path = tmp_path / "short.onnx"
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)]), str(path))
    report = lint_file(path, ALL_RULES)
    assert report.error == "corrupted: tensor 'axis' holds 3 bytes but its dims [1] need 8"


def test_a_model_the_checker_rejects_is_inferred_in_a_child_and_not_probed(tmp_path):
    # A Constant whose value attribute is a string: onnx 1.18's shape inference divides by zero on such graphs.
    node = onnx.helper.make_node("Constant", [], ["c"])
    node.attribute.append(onnx.helper.make_attribute("value", "not a tensor"))
    add = onnx.helper.make_node("Add", ["x", "c"], ["y"])
    graph = onnx.helper.make_graph(
        [node, add],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 3])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["m", 3])],
    )
    path = tmp_path / "rejected.onnx"
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)]), str(path))
    report = lint_file(path, ALL_RULES)
    assert report.error is None and report.internal_errors == ()
    assert "OP003" in {f.code for f in report.findings}
    skipped = {s.code: s.reason for s in report.rules_skipped}
    assert skipped["IO001"] == skipped["IO002"] == "onnx.checker rejects the model (OP003), so its dims are not probed"
