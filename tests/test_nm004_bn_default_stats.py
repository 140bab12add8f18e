from conftest import codes, lint_text

BN = """<ir_version: 8, opset_import: ["" : 17]>
g (float[1, 2, 4, 4] x) => (float[1, 2, 4, 4] z) <float[2] s = {{1.0, 1.0}}, float[2] b = {{0.0, 0.0}},
    float[2] m = {{{mean}}}, float[2] v = {{{var}}}, float[2] m2 = {{0.0, 0.0}}, float[2] v2 = {{1.0, 1.0}}> {{
    y = BatchNormalization(x, s, b, m, v)
    z = BatchNormalization(y, s, b, m2, v2)
}}"""


def test_fail_every_bn_at_defaults(tmp_path):
    [finding] = lint_text(tmp_path, BN.format(mean="0.0, 0.0", var="1.0, 1.0"), "NM004").findings
    assert (finding.code, finding.location.node, finding.data) == ("NM004", "BatchNormalization_0",
                                                                    {"batch_norm_count": 2})


def test_pass_when_one_bn_has_real_statistics(tmp_path):
    assert codes(lint_text(tmp_path, BN.format(mean="0.3, -0.1", var="0.8, 1.7"), "NM004")) == []


def test_pass_without_batch_norm(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y) { y = Relu(x) }"""
    assert codes(lint_text(tmp_path, text, "NM004")) == []
