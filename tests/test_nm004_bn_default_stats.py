from conftest import codes, lint_text

BN = """<ir_version: 8, opset_import: ["" : 17]>
g (float[1, 2, 4, 4] x) => (float[1, 2, 4, 4] z) <float[2] s = {{1.0, 1.0}}, float[2] b = {{0.0, 0.0}},
    float[2] m = {{{mean}}}, float[2] v = {{{var}}}, float[2] m2 = {{0.0, 0.0}}, float[2] v2 = {{1.0, 1.0}}> {{
    y = BatchNormalization(x, s, b, m, v)
    z = BatchNormalization(y, s, b, m2, v2)
}}"""


def test_fail_every_bn_at_defaults(tmp_path):
    [finding] = lint_text(tmp_path, BN.format(mean="0.0, 0.0", var="1.0, 1.0"), "NM004").findings
    assert (finding.code, finding.location.node) == ("NM004", "BatchNormalization_0")
    assert finding.data == {
        "batch_norm_count": 2,
        "default_count": 2,
        "nodes": ["BatchNormalization_0", "BatchNormalization_1"],
    }
    assert finding.message.startswith("all 2 BatchNormalization nodes have")


def test_fail_names_the_untrained_layers_among_trained_ones(tmp_path):
    [finding] = lint_text(tmp_path, BN.format(mean="0.3, -0.1", var="0.8, 1.7"), "NM004").findings
    assert (finding.location.node, finding.data["default_count"]) == ("BatchNormalization_1", 1)
    assert finding.message.startswith("1 of 2 BatchNormalization nodes (first BatchNormalization_1)")


def test_pass_every_bn_trained(tmp_path):
    text = BN.format(mean="0.3, -0.1", var="0.8, 1.7").replace("m2 = {0.0, 0.0}", "m2 = {0.2, 0.1}")
    assert codes(lint_text(tmp_path, text, "NM004")) == []


def test_pass_without_batch_norm(tmp_path):
    text = """<ir_version: 8, opset_import: ["" : 17]>
    g (float[4] x) => (float[4] y) { y = Relu(x) }"""
    assert codes(lint_text(tmp_path, text, "NM004")) == []
