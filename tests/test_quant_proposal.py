"""The hybrid proposal's search: float16 spans (a layer with the layers that read it) chosen by gain per layer."""

from onnxlint.quant.layers import Layer
from onnxlint.quant.proposal import greedy, moves_for


def test_a_float16_move_takes_the_layers_that_read_it():
    layer = Layer(3, "t", "n", "Conv")
    assert moves_for(layer, "rk3588", False, [4, 7]) == [{3: "float16", 4: "float16", 7: "float16"}]
    assert moves_for(Layer(3, "t", "n", "Concat", graph_output=True), "rv1106", True, [4]) == [
        {3: "split"},
        {3: "int16"},
    ]


def test_greedy_takes_the_best_gain_per_float_layer():
    # Layer k's rounding costs loss[k]; it goes only when k and every layer reading it are float16 (the toolkit
    # converts a float16 layer's output back to int8 for an int8 reader).
    loss = {0: 0.02, 1: 0.001, 2: 0.015, 3: 0.0}
    readers = {0: [1, 2, 3], 1: [3], 2: [3], 3: []}

    def evaluate(changes):
        return 1.0 - sum(cost for k, cost in loss.items() if not all(j in changes for j in [k, *readers[k]]))

    def moves(k):
        return moves_for(Layer(k, f"t{k}", f"n{k}", "Conv"), "rk3588", False, readers[k])

    result = greedy([0, 2, 1, 3], evaluate, evaluate({}), moves, max_layers=3)
    # {2, 3} removes 0.015 with two layers (0.0075 each); {0, 1, 2, 3} removes more but needs four layers
    assert [(step.layer, step.action) for step in result.steps] == [(2, "float16"), (3, "float16")]
    assert abs(result.final - (1.0 - 0.021)) < 1e-12
