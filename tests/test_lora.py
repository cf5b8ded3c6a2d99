"""flowlib.lora: the LoRA wrapper starts at the frozen layer, scales by alpha / r, trains only A and B."""

import pytest
import torch
from torch import nn

from flowlib.lora import LoRALinear, add_lora, count_parameters


def _linear(d_in=6, d_out=4, seed=0):
    torch.manual_seed(seed)
    return nn.Linear(d_in, d_out)


def test_zero_b_gives_exactly_the_frozen_layer():
    base = _linear()
    layer = LoRALinear(base, r=2, alpha=4.0)
    x = torch.randn(3, 5, 6)
    assert torch.equal(layer(x), base(x))
    assert layer(x).shape == (3, 5, 4)


@pytest.mark.parametrize("r,alpha", [(1, 1.0), (2, 3.0), (4, 16.0)])
def test_update_is_alpha_over_r_times_x_at_bt(r, alpha):
    base = _linear()
    layer = LoRALinear(base, r=r, alpha=alpha)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        layer.lora_A.copy_(torch.randn(r, 6, generator=g))
        layer.lora_B.copy_(torch.randn(4, r, generator=g))
    x = torch.randn(2, 3, 6, generator=g)
    expected = base(x) + (alpha / r) * x @ (layer.lora_B @ layer.lora_A).T
    torch.testing.assert_close(layer(x), expected)
    torch.testing.assert_close(x @ layer.merged_weight().T + base.bias, expected)


def test_only_a_and_b_train():
    layer = LoRALinear(_linear(), r=2)
    layer(torch.randn(4, 6)).sum().backward()
    assert layer.base.weight.grad is None and layer.base.bias.grad is None
    assert layer.lora_B.grad is not None and layer.lora_B.grad.abs().sum() > 0
    assert count_parameters(layer) == (2 * (6 + 4), 2 * (6 + 4) + 6 * 4 + 4)


def test_seeded_a_is_reproducible():
    a1 = LoRALinear(_linear(), r=3, generator=torch.Generator().manual_seed(7)).lora_A
    a2 = LoRALinear(_linear(), r=3, generator=torch.Generator().manual_seed(7)).lora_A
    assert torch.equal(a1, a2) and a1.abs().max() <= 1 / 6**0.5


def test_add_lora_wraps_the_named_layers_and_freezes_the_rest():
    model = nn.Sequential()
    model.add_module(
        "block", nn.ModuleDict({"query": nn.Linear(8, 8), "key": nn.Linear(8, 8), "value": nn.Linear(8, 8)})
    )
    model.add_module("out", nn.Linear(8, 2))
    wrapped = add_lora(model, targets=("query", "value"), r=2)
    assert wrapped == ["block.query", "block.value"]
    assert isinstance(model.block["query"], LoRALinear) and isinstance(model.block["key"], nn.Linear)
    assert count_parameters(model)[0] == 2 * 2 * (8 + 8)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="positive int"):
        LoRALinear(_linear(), r=0)
    with pytest.raises(TypeError, match="nn.Linear"):
        LoRALinear(nn.Conv1d(2, 2, 1))
    with pytest.raises(ValueError, match=r"\(\.\.\., 6\).*\(2, 5\)"):
        LoRALinear(_linear(), r=1)(torch.randn(2, 5))
    with pytest.raises(ValueError, match="no nn.Linear named.*linear layers are named"):
        add_lora(nn.Sequential(nn.Linear(2, 2)), targets=("query",))
