from conftest import codes, lint_text

CONV_BN = """<ir_version: 8, opset_import: ["" : 17]>
g (float[1, 3, 8, 8] x) => (float[1, 4, 8, 8] y{extra_out}) <float[4, 3, 1, 1] w, float[4] s, float[4] b,
    float[4] m, float[4] v> {{
    c = Conv(x, w)
    y = BatchNormalization(c, s, b, m, v)
    {extra}
}}"""


def test_fail_conv_then_bn(tmp_path):
    [finding] = lint_text(tmp_path, CONV_BN.format(extra_out="", extra=""), "NM003").findings
    assert (finding.code, finding.location.node, finding.data) == ("NM003", "BatchNormalization_1", {"conv": "Conv_0"})


def test_pass_conv_output_also_used_elsewhere(tmp_path):
    text = CONV_BN.format(extra_out=", float[1, 4, 8, 8] z", extra="z = Relu(c)")
    assert codes(lint_text(tmp_path, text, "NM003")) == []


def test_pass_bn_after_relu(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[1, 4, 8, 8] x, float[4] s, float[4] b, float[4] m, float[4] v) => (float[1, 4, 8, 8] y) {
        r = Relu(x)
        y = BatchNormalization(r, s, b, m, v)
    }"""
    assert codes(lint_text(tmp_path, text, "NM003")) == []
