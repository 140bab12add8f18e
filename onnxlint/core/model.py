"""Safe model loading: parse the protobuf without weights, vet external data, run onnx's checks.

Nothing here reads weight bytes up front: models are parsed with `load_external_data=False` and a
rule that needs a tensor's values asks for that one tensor (`LoadedModel.read_tensor`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import onnx
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from onnx import numpy_helper

from onnxlint.core.errors import UnreadableInput
from onnxlint.core.files import read_bytes, regular_file

# Constants shape inference may read the values of (shapes, axes, indices) are far smaller than this.
INFERENCE_READS_ELEMENTS = 1 << 16
# Shape inference in a child process (models onnx.checker rejects) gets this long.
ISOLATED_INFERENCE_SECONDS = 120

# An initializer larger than this many elements is not a weight any real model carries
# (4 Ti elements); treating it as data would only feed overflow into size arithmetic.
MAX_TENSOR_ELEMENTS = 1 << 42
# onnx's C++ layer reads IR and opset versions as 32-bit ints: a larger one overflows inside the checker,
# shape inference and the schema lookups, so the loader refuses it.
MAX_VERSION = (1 << 31) - 1
# Element types whose values are not real numbers: no rule reads them as parameters.
NOT_REAL = frozenset({onnx.TensorProto.STRING, onnx.TensorProto.COMPLEX64, onnx.TensorProto.COMPLEX128})
# Element types packed several to a byte in raw_data: {type: bits per element} (INT2/UINT2 from onnx 1.20).
PACKED_BITS = {
    getattr(onnx.TensorProto, name): bits
    for name, bits in (("INT4", 4), ("UINT4", 4), ("FLOAT4E2M1", 4), ("INT2", 2), ("UINT2", 2))
    if hasattr(onnx.TensorProto, name)
}
TENSOR = onnx.TensorProto.DESCRIPTOR
STRING_FIELD, MESSAGE_FIELD = FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_MESSAGE


class ModelLoadError(UnreadableInput):
    """An .onnx file that cannot be parsed, or whose external data is refused."""


class UnreadableTensor(Exception):
    """A tensor whose values cannot be read as real numbers: an unknown, string or complex element type, or data
    that does not fill its dims. Not a load error: only the rule that asked for the values is affected, and it
    treats the value as unknown (it judges nothing from that tensor)."""


@dataclass(frozen=True)
class DeclaredValue:
    """A graph input or output exactly as the file declares it (before shape inference)."""

    name: str
    elem_type: int | None
    shape: tuple[int | str | None, ...] | None  # int: fixed, str: symbol, None: unnamed/unknown


@dataclass
class LoadedModel:
    path: Path
    proto: onnx.ModelProto
    file_size: int
    external_data_size: int
    declared_inputs: tuple[DeclaredValue, ...]
    declared_outputs: tuple[DeclaredValue, ...]
    has_external_data: bool
    inference: ShapeInference = field(init=False)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @cached_property
    def checker_error(self) -> str | None:
        """onnx.checker's complaint about the file, or None when it passes."""
        # With external data the checker must see the path, so that it resolves data files
        # against the model's folder instead of the working directory.
        target = str(self.path) if self.has_external_data else self.proto
        try:
            onnx.checker.check_model(target)
        except onnx.checker.ValidationError as exc:
            return str(exc).strip()
        except Exception as exc:  # the checker's C++ layer raises other types on odd input
            return f"{type(exc).__name__}: {exc}".strip()
        return None

    def read_tensor(self, tensor: onnx.TensorProto) -> np.ndarray:
        """Values of one tensor, reading its external data (already vetted) if it has any.

        Raises UnreadableTensor when the values are not real numbers or do not match the tensor's dims."""
        if tensor.data_type in NOT_REAL:
            raise UnreadableTensor(f"tensor '{tensor.name}' holds {dtype_name(tensor.data_type)} values, not numbers")
        try:
            dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)
        except KeyError:  # UNDEFINED, or a number ONNX does not define
            raise UnreadableTensor(f"tensor '{tensor.name}' has no numeric element type ({tensor.data_type})") from None
        if tensor.HasField("raw_data") and tensor.data_location != onnx.TensorProto.EXTERNAL:
            problem = raw_data_problem(tensor, dtype)
            if problem:
                raise UnreadableTensor(problem)
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            detached = onnx.TensorProto()
            detached.CopyFrom(tensor)  # loading external data mutates the proto; keep ours light
            tensor = detached
        try:
            # numpy's reshape refuses typed data (float_data, int64_data...) or external bytes of another size.
            return numpy_helper.to_array(tensor, base_dir=str(self.base_dir))
        except (ValueError, OSError) as exc:
            raise UnreadableTensor(f"tensor '{tensor.name}': {exc}") from None


def raw_data_problem(tensor: onnx.TensorProto, dtype: np.dtype) -> str | None:
    """Why the tensor's raw_data does not hold its dims' worth of elements, or None when it does."""
    bits = PACKED_BITS.get(tensor.data_type, dtype.itemsize * 8)
    needed = -(-math.prod(tensor.dims) * bits // 8)
    held = len(tensor.raw_data)
    if held == needed:
        return None
    return f"tensor '{tensor.name}' holds {held} bytes but its dims {list(tensor.dims)} need {needed}"


@dataclass(frozen=True)
class ShapeInference:
    """The shape-inferred model and, if strict inference failed, onnx's reason."""

    model: onnx.ModelProto
    strict_error: str | None


def load_model(path: str | os.PathLike, infer: bool = True) -> LoadedModel:
    """Parse and vet a model file; raise ModelLoadError with a one-line reason on bad input.

    `infer=False` skips onnx's checker and shape inference, which never raise here but each hold another copy of
    the model (weights included): for callers that need the vetting and the graph's structure only (compare).
    `inference` then stands for the file's own types."""
    path = Path(path)
    try:
        file_size = regular_file(path).st_size  # no size cap: weights make models as large as they are
    except UnreadableInput as exc:
        raise ModelLoadError(path, exc.reason) from None
    if file_size == 0:
        raise ModelLoadError(path, "empty file")
    proto = _parse(path)
    external_size, has_external = _vet_tensors(path, proto)
    graph = proto.graph
    declared_inputs = tuple(_declared(v) for v in graph.input)
    declared_outputs = tuple(_declared(v) for v in graph.output)
    loaded = LoadedModel(
        path=path,
        proto=proto,
        file_size=file_size,
        external_data_size=external_size,
        declared_inputs=declared_inputs,
        declared_outputs=declared_outputs,
        has_external_data=has_external,
    )
    if not infer:
        loaded.inference = ShapeInference(proto, None)
        return loaded
    # The checker must see the file as written, so run it before inference rewrites anything. onnx's C++ shape
    # inference can crash the process on graphs the checker rejects (onnx 1.18 divides by a zero stride, reads
    # past malformed attributes): those are inferred in a child process.
    loaded.inference = _infer_shapes(proto, isolated=loaded.checker_error is not None)
    return loaded


def _parse(path: Path) -> onnx.ModelProto:
    # onnx.load's steps, with the UTF-8 check on the file's bytes first: its parsed copy is gone before onnx's is
    # made, so that the bytes and one parsed copy (weights included) are all a load ever holds at once.
    # The format follows the extension, as in onnx.load.
    file_format = onnx.serialization.registry.get_format_from_file_extension(path.suffix) or "protobuf"
    try:
        data = read_bytes(path, max_size=None)  # no size cap: weights make models as large as they are
    except UnreadableInput as exc:
        raise ModelLoadError(path, exc.reason) from None
    try:
        utf8 = _valid_utf8(data) if file_format == "protobuf" else None
        proto = onnx.load_model_from_string(data, format=file_format)
        del data
    except DecodeError as exc:
        raise ModelLoadError(path, f"not a valid ONNX protobuf ({exc or 'truncated or corrupted'})") from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(path, f"cannot read ONNX model ({exc})") from None
    except Exception as exc:  # protobuf's C parser raises bare Exceptions on some inputs
        raise ModelLoadError(path, f"not a valid ONNX protobuf ({type(exc).__name__}: {exc})") from None
    # Arbitrary bytes often parse as a protobuf with only unknown fields.
    if not proto.HasField("graph") or proto.ir_version <= 0:
        raise ModelLoadError(path, "not an ONNX model (no graph or IR version in the file)")
    versions = [("IR version", proto.ir_version)]
    for opset in [*proto.opset_import, *(o for function in proto.functions for o in function.opset_import)]:
        versions.append((f"opset version of domain '{opset.domain}'", opset.version))
    for what, version in versions:
        if abs(version) > MAX_VERSION:
            raise ModelLoadError(path, f"{what} {version} is out of range (onnx reads it as a 32-bit integer)")
    if utf8 is None:  # a text format: small, and already text; its parse is checked as protobuf would be
        utf8 = _valid_utf8(proto.SerializeToString())
    if not utf8:
        garbled = _garbled_text(proto)
        if garbled is not None:
            raise ModelLoadError(path, f"corrupted: a {garbled} is not valid UTF-8")
    return proto


def _utf8_checked_model() -> type[Message]:
    """ModelProto as a proto3 message: the same fields and numbers, but proto3 strings must be UTF-8 and protobuf's
    C parser checks them as it reads (ONNX's proto2 strings are handed back as bytes instead, one by one, when a
    field is read). Tensor strings other than the name are bytes here: a tensor's doc and external-data keys are
    not names any stage reports."""
    file = descriptor_pb2.FileDescriptorProto()
    onnx.ModelProto.DESCRIPTOR.file.CopyToProto(file)
    file.syntax = "proto3"

    def convert(message: descriptor_pb2.DescriptorProto) -> None:
        for declared in message.field:
            declared.ClearField("default_value")  # proto3 has no declared defaults
            if message.name == "TensorProto" and declared.type == declared.TYPE_STRING and declared.name != "name":
                declared.type = declared.TYPE_BYTES
        for nested in message.nested_type:
            convert(nested)

    for message in file.message_type:
        convert(message)
    pool = descriptor_pool.DescriptorPool()  # its own pool: onnx's messages keep their proto2 definitions
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{file.package}.ModelProto"))


_UTF8_CHECKED_MODEL: type[Message] | None = None


def _valid_utf8(data: bytes) -> bool:
    """Whether every string of a serialized model, bar tensor data and docs, is valid UTF-8: one pass of protobuf's
    C parser (about as long as onnx.load's own parse, 25 ms per 100k nodes), instead of reading every field from
    Python (over 300 ms). The parsed copy is dropped at once."""
    global _UTF8_CHECKED_MODEL
    if _UTF8_CHECKED_MODEL is None:
        _UTF8_CHECKED_MODEL = _utf8_checked_model()
    try:
        _UTF8_CHECKED_MODEL().ParseFromString(data)
    except Exception:  # a bad string, or bytes onnx's own parse refuses too (it runs next, and says why)
        return False
    return True


def _garbled_text(message: Message) -> str | None:
    """The first string field (a name, op type, dim, domain...) that is not valid UTF-8, as 'Type.field', else None.

    ONNX strings are UTF-8; protobuf hands a corrupted one back as bytes, which every name lookup, message and
    report format would then have to handle. Tensors are checked by name only: their data is never text.
    Reads every field from Python (about 0.35 s per 100k nodes), so it runs only to name the field once
    `_valid_utf8` has found one."""
    if message.DESCRIPTOR is TENSOR:
        return "TensorProto.name" if isinstance(message.name, bytes) else None
    for descriptor, value in message.ListFields():
        if descriptor.type == STRING_FIELD:
            if isinstance(value, bytes) or (not isinstance(value, str) and any(isinstance(v, bytes) for v in value)):
                return f"{message.DESCRIPTOR.name}.{descriptor.name}"
        elif descriptor.type == MESSAGE_FIELD:
            for child in (value,) if isinstance(value, Message) else value:
                garbled = _garbled_text(child)
                if garbled is not None:
                    return garbled
    return None


def all_tensors(proto: onnx.ModelProto):
    """Every TensorProto in the model: initializers and tensor attributes, in subgraphs and functions."""

    def from_graph(graph: onnx.GraphProto):
        yield from graph.initializer
        for node in graph.node:
            if node.attribute:  # most nodes have none: skip the generator
                yield from from_node(node)

    def from_node(node: onnx.NodeProto):
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from from_graph(attr.g)
            for sub in attr.graphs:
                yield from from_graph(sub)

    yield from from_graph(proto.graph)
    for function in proto.functions:
        for node in function.node:
            yield from from_node(node)


def _vet_tensors(path: Path, proto: onnx.ModelProto) -> tuple[int, bool]:
    """Refuse absurd dims, and external data outside the model folder, missing or too short.

    Returns (total external data bytes, whether any tensor is stored externally). Reads no data.
    """
    base = path.parent.resolve()
    sizes: dict[Path, int] = {}
    total, has_external = 0, False
    for tensor in all_tensors(proto):
        dims = tensor.dims
        if any(d < 0 for d in dims):
            raise ModelLoadError(path, f"tensor '{tensor.name}' has negative dims {list(dims)}")
        if math.prod(dims) > MAX_TENSOR_ELEMENTS:
            raise ModelLoadError(path, f"tensor '{tensor.name}' declares absurd dims {list(dims)}")
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            has_external = True
            total += _vet_external(path, base, tensor, sizes)
        elif tensor.HasField("raw_data") and math.prod(dims) <= INFERENCE_READS_ELEMENTS:
            # Shape inference reads small constants' bytes in C++ and crashes on a short buffer. (Weights are
            # larger, never read by inference, and checking them would copy every byte: rules check what they read.)
            dtype = _numeric_dtype(tensor)
            problem = raw_data_problem(tensor, dtype) if dtype is not None else None
            if problem:
                raise ModelLoadError(path, f"corrupted: {problem}")
    return total, has_external


def _numeric_dtype(tensor: onnx.TensorProto) -> np.dtype | None:
    if tensor.data_type in NOT_REAL:
        return None
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type))
    except (KeyError, TypeError, ValueError):
        return None


def _vet_external(path: Path, base: Path, tensor: onnx.TensorProto, sizes: dict[Path, int]) -> int:
    info = {entry.key: entry.value for entry in tensor.external_data}
    location = info.get("location", "")
    if not location:
        raise ModelLoadError(path, f"tensor '{tensor.name}' is stored externally but names no location")
    if "\0" in location:
        raise ModelLoadError(path, f"external data location of tensor '{tensor.name}' contains a NUL byte; refused")
    if os.path.isabs(location) or Path(location).drive:
        raise ModelLoadError(
            path, f"external data of tensor '{tensor.name}' has an absolute location '{location}'; refused"
        )
    data_file = (base / location).resolve()
    if data_file != base and base not in data_file.parents:
        raise ModelLoadError(
            path, f"external data of tensor '{tensor.name}' points outside the model's folder ('{location}'); refused"
        )
    if data_file not in sizes:
        try:
            if not data_file.is_file():
                raise ModelLoadError(path, f"missing external data file '{location}' for tensor '{tensor.name}'")
            sizes[data_file] = data_file.stat().st_size
        except OSError as exc:  # a name too long for the file system, a folder we may not enter
            raise ModelLoadError(
                path, f"cannot read external data file '{location}' for tensor '{tensor.name}' ({exc.strerror or exc})"
            ) from None
    try:
        offset = int(info.get("offset", 0))
        length = int(info["length"]) if "length" in info else sizes[data_file] - offset
    except ValueError:
        raise ModelLoadError(
            path, f"external data of tensor '{tensor.name}' has a non-integer offset or length"
        ) from None
    if offset < 0 or length < 0 or offset + length > sizes[data_file]:
        raise ModelLoadError(
            path,
            f"external data file '{location}' is too short for tensor '{tensor.name}' "
            f"(needs bytes {offset}..{offset + length}, file has {sizes[data_file]})",
        )
    return length


def _declared(value: onnx.ValueInfoProto) -> DeclaredValue:
    elem_type, shape = type_and_shape(value.type)
    return DeclaredValue(value.name, elem_type, shape)


def dtype_name(elem_type: int | None) -> str:
    """numpy's name for an ONNX element type ('float32'), else onnx's ('string'); a number ONNX does not define
    (a corrupted file) is named as such."""
    if not elem_type:
        return "unknown"
    if elem_type not in onnx.TensorProto.DataType.values():
        return f"undefined element type {elem_type}"
    try:
        return onnx.helper.tensor_dtype_to_np_dtype(elem_type).name
    except (KeyError, ValueError, TypeError):
        return onnx.TensorProto.DataType.Name(elem_type).lower()


def type_and_shape(type_proto: onnx.TypeProto) -> tuple[int | None, tuple[int | str | None, ...] | None]:
    """(element type, dims) of a tensor type; dims are int, symbol string, or None when unnamed."""
    if not type_proto.HasField("tensor_type"):
        return None, None
    tensor_type = type_proto.tensor_type
    elem_type = tensor_type.elem_type or None
    if not tensor_type.HasField("shape"):
        return elem_type, None
    dims: list[int | str | None] = []
    for dim in tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(dim.dim_value)
        elif dim.HasField("dim_param") and dim.dim_param:
            dims.append(dim.dim_param)
        else:
            dims.append(None)
    return elem_type, tuple(dims)


def _infer_shapes(proto: onnx.ModelProto, isolated: bool = False) -> ShapeInference:
    """Run onnx shape inference with data propagation on the model, in place of the model; `isolated`, in a child
    process, where a crash of onnx's C++ code leaves the model uninferred, with the crash as the strict error.

    Graph output shapes are cleared first so the result shows what the graph computes, not what
    the file declares (the declarations are kept in LoadedModel.declared_outputs). Never raises.
    """
    for output in proto.graph.output:
        if output.type.HasField("tensor_type"):
            output.type.tensor_type.ClearField("shape")
    if isolated:
        from onnxlint.core import sandbox

        try:
            return sandbox.run(_inferred, proto, limits=sandbox.Limits(timeout_s=ISOLATED_INFERENCE_SECONDS))
        except Exception as exc:  # the child crashed or ran over: what inference would have said is unknown
            return ShapeInference(proto, f"onnx's shape inference failed on this model: {' '.join(str(exc).split())}")
    return _inferred(proto)


def _inferred(proto: onnx.ModelProto) -> ShapeInference:
    strict_error = None
    try:
        return ShapeInference(onnx.shape_inference.infer_shapes(proto, strict_mode=True, data_prop=True), None)
    except Exception as exc:
        strict_error = str(exc).strip() or type(exc).__name__
    try:
        return ShapeInference(onnx.shape_inference.infer_shapes(proto, data_prop=True), strict_error)
    except Exception:
        return ShapeInference(proto, strict_error)
