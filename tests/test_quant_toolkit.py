"""Reading accuracy_analysis's error_analysis.txt (rows as rknn-toolkit2 2.5.0 writes them)."""

from onnxlint.quant.toolkit import output_cosines, read_error_analysis

REPORT = """layer_name                                                 simulator_error
                                                       entire              single
                                                    cos      euc        cos      euc
------------------------------------------------------------------------------------------
[Input] x                                         1.00000 | 0.00000   1.00000 | 0.00000
[Conv] batch_norm_0.tmp_2
[HardSwish] hardswish_0.tmp_0                     0.99994 | 1.91915   0.99994 | 1.91915
[ConvTranspose] p2o.ConvTranspose.3         0.99040 | 2263.508300.99995 | 184.65898
[Sigmoid] sigmoid_0.tmp_0_int8               q_zero |  q_zero    q_zero |  q_zero
[exDataConvert] sigmoid_0.tmp_0              q_zero |  q_zero    q_zero |  q_zero
\x1b[1;33m[Relu] relu_11.tmp_0                              0.99844 | 0.19964   \x1b[1;33m0.99869\x1b[0m | 0.18725
"""


def test_rows_glued_numbers_and_all_zero_outputs(tmp_path):
    path = tmp_path / "error_analysis.txt"
    path.write_text(REPORT)
    rows = read_error_analysis(path)
    assert [(r.tensor, r.entire_cosine, r.single_cosine) for r in rows] == [
        ("x", 1.0, 1.0),
        ("hardswish_0.tmp_0", 0.99994, 0.99994),
        ("p2o.ConvTranspose.3", 0.9904, 0.99995),
        ("sigmoid_0.tmp_0_int8", 0.0, 0.0),
        ("sigmoid_0.tmp_0", 0.0, 0.0),
        ("relu_11.tmp_0", 0.99844, 0.99869),
    ]
    assert output_cosines(rows, ["sigmoid_0.tmp_0", "missing"]) == {"sigmoid_0.tmp_0": 0.0}
