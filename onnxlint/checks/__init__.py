"""Every rule onnxlint ships, registered in one explicit tuple (no import side effects, no magic)."""

from onnxlint.checks.ex001_export_training_mode import ExportTrainingMode
from onnxlint.checks.ex002_constant_folding_disabled import ConstantFoldingDisabled
from onnxlint.checks.ex003_exporter_opset_override import ExporterOpsetOverride
from onnxlint.checks.hd001_yolo_decode_in_graph import YoloDecodeInGraph
from onnxlint.checks.hd002_yolo_training_head import YoloTrainingHead
from onnxlint.checks.hd003_anchors_mismatch import AnchorsMismatch
from onnxlint.checks.hd004_anchors_default_custom_nc import AnchorsDefaultCustomNc
from onnxlint.checks.hd005_head_classes_mismatch import HeadClassesMismatch
from onnxlint.checks.io001_dynamic_dim_name_mismatch import DynamicDimNameMismatch
from onnxlint.checks.io002_static_dim_lost import StaticDimLost
from onnxlint.checks.io003_negative_dim import NegativeDim
from onnxlint.checks.io004_unnamed_outputs import UnnamedOutputs
from onnxlint.checks.io005_dynamic_axes_key_mismatch import DynamicAxesKeyMismatch
from onnxlint.checks.io006_dynamic_axes_not_applied import DynamicAxesNotApplied
from onnxlint.checks.io007_dynamic_dim_unsupported import DynamicDimUnsupported
from onnxlint.checks.ly001_nhwc_input import NhwcInput
from onnxlint.checks.ly002_normalization_in_graph import NormalizationInGraph
from onnxlint.checks.nm001_bn_training_mode import BnTrainingMode
from onnxlint.checks.nm002_dropout_training_mode import DropoutTrainingMode
from onnxlint.checks.nm003_bn_not_folded import BnNotFolded
from onnxlint.checks.nm004_bn_default_stats import BnDefaultStats
from onnxlint.checks.nm005_simplifier_drift import SimplifierDrift
from onnxlint.checks.nm006_optimizer_drift import OptimizerDrift
from onnxlint.checks.nm007_reference_mismatch import ReferenceMismatch
from onnxlint.checks.op001_op_not_in_opset import OpNotInOpset
from onnxlint.checks.op002_deprecated_op import DeprecatedOp
from onnxlint.checks.op003_model_invalid import ModelInvalid
from onnxlint.checks.op004_shape_inference_error import ShapeInferenceError
from onnxlint.checks.qt001_mixed_range_concat import MixedRangeConcat
from onnxlint.checks.qt002_depthwise_range_disparity import DepthwiseRangeDisparity
from onnxlint.checks.tg001_target_opset_unsupported import TargetOpsetUnsupported
from onnxlint.checks.tg002_target_dynamic_shape import TargetDynamicShape
from onnxlint.checks.tg003_target_cpu_fallback import TargetCpuFallback
from onnxlint.checks.tg004_target_io_dtype import TargetIoDtype
from onnxlint.checks.tg005_target_unsupported_op import TargetUnsupportedOp
from onnxlint.checks.tg006_target_op_constraint import TargetOpConstraint
from onnxlint.checks.tg007_target_layout_mismatch import TargetLayoutMismatch
from onnxlint.checks.tg008_target_toolkit_failure import TargetToolkitFailure

ALL_RULES = (
    OpNotInOpset(),
    DeprecatedOp(),
    ModelInvalid(),
    ShapeInferenceError(),
    DynamicDimNameMismatch(),
    StaticDimLost(),
    NegativeDim(),
    UnnamedOutputs(),
    DynamicAxesKeyMismatch(),
    DynamicAxesNotApplied(),
    DynamicDimUnsupported(),
    BnTrainingMode(),
    DropoutTrainingMode(),
    BnNotFolded(),
    BnDefaultStats(),
    SimplifierDrift(),
    OptimizerDrift(),
    ReferenceMismatch(),
    NhwcInput(),
    NormalizationInGraph(),
    YoloDecodeInGraph(),
    YoloTrainingHead(),
    AnchorsMismatch(),
    AnchorsDefaultCustomNc(),
    HeadClassesMismatch(),
    TargetOpsetUnsupported(),
    TargetDynamicShape(),
    TargetCpuFallback(),
    TargetIoDtype(),
    TargetUnsupportedOp(),
    TargetOpConstraint(),
    TargetLayoutMismatch(),
    TargetToolkitFailure(),
    ExportTrainingMode(),
    ConstantFoldingDisabled(),
    ExporterOpsetOverride(),
    MixedRangeConcat(),
    DepthwiseRangeDisparity(),
)
