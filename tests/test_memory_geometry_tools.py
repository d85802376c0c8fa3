import math

import pytest
import torch

from optimlab.memory_geometry_tools import (MuonWithAdamW, OptimizerList, factored_estimate, muon_crosscheck,
                                            ns_map, ns_polynomial, split_for_muon, state_numbers)
from optimlab.optim import AdamW, Muon
from optimlab.optim.muon import zeropower_via_newton_schulz
from optimlab.train import mlp


def test_split_keeps_the_output_layer_and_vectors_out_of_muon():
    model = mlp(8, [6, 5], 3)
    hidden, rest = split_for_muon(model.parameters())
    assert [tuple(p.shape) for p in hidden] == [(6, 8), (5, 6)]
    assert [tuple(p.shape) for p in rest] == [(6,), (5,), (3, 5), (3,)]


def test_muon_with_adamw_equals_two_separate_optimizers():
    torch.manual_seed(0)
    x, y = torch.randn(32, 8), torch.randint(0, 3, (32,))
    models = [mlp(8, [6, 5], 3, seed=1) for _ in range(2)]
    combined = MuonWithAdamW(models[0].parameters(), lr=0.05)
    hidden, rest = split_for_muon(models[1].parameters())
    separate = [Muon(hidden, lr=0.05, weight_decay=0.0, adjust_lr_fn="match_rms_adamw"),
                AdamW(rest, lr=0.05, weight_decay=0.0)]
    assert len(combined.param_groups) == 2 and combined.param_groups[0]["adjust_lr_fn"] == "match_rms_adamw"
    for _ in range(3):
        combined.zero_grad()
        torch.nn.functional.cross_entropy(models[0](x), y).backward()
        combined.step()
        for o in separate:
            o.zero_grad()
        torch.nn.functional.cross_entropy(models[1](x), y).backward()
        for o in separate:
            o.step()
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        assert torch.equal(a, b)


def test_optimizer_list_refuses_shared_parameters_and_runs_a_closure():
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="two optimizers"):
        OptimizerList(AdamW([p]), AdamW([p]))
    with pytest.raises(ValueError, match="at least one"):
        OptimizerList()
    opt = OptimizerList(torch.optim.SGD([p], lr=0.5))

    def closure():
        opt.zero_grad()
        loss = (p - 1).pow(2).sum()
        loss.backward()
        return loss
    assert float(opt.step(closure).detach()) == 2.0
    torch.testing.assert_close(p.detach(), torch.ones(2))          # 0 − 0.5 · 2(0 − 1) = 1


def test_factored_estimate_by_hand():
    v = torch.tensor([[1.0, 3.0], [3.0, 9.0]], dtype=torch.float64)   # rank one: (1, 3)ᵀ (1, 3)
    torch.testing.assert_close(factored_estimate(v), v)
    w = torch.tensor([[4.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    # R = (2, 0)ᵀ, C = (2, 0), mean R = 1: V̂ = [[4, 0], [0, 0]]
    torch.testing.assert_close(factored_estimate(w), w)
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(factored_estimate(u), torch.full((2, 2), 0.5, dtype=torch.float64))


def test_ns_map_is_what_the_iteration_does_to_singular_values():
    g = torch.Generator().manual_seed(0)
    U, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))
    V, _ = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=torch.float64))
    s = torch.tensor([1.0, 0.5, 0.1, 0.01], dtype=torch.float64)
    x = U[:, :4] @ torch.diag(s) @ V.T
    out = torch.linalg.svdvals(zeropower_via_newton_schulz(x, dtype=None))
    expected = ns_map(s / s.norm()).sort(descending=True).values
    torch.testing.assert_close(out.sort(descending=True).values, expected)
    assert ns_polynomial(1.0, (1.5, -0.5, 0.0)) == 1.0
    assert ns_polynomial(0.5) == pytest.approx(3.4445 * 0.5 - 4.7750 * 0.125 + 2.0315 * 0.03125)


def test_state_numbers_by_hand():
    n = state_numbers(3, 5)
    assert n == {"SGD with momentum": 15, "AdamW": 30, "Adafactor": 8, "Muon": 15,
                 "Shampoo": 15 + 9 + 25, "SOAP": 30 + 2 * 34}


def test_muon_crosscheck_agrees_and_detects_a_difference():
    result = muon_crosscheck(steps=10, lr=0.02, device="cpu")
    assert result.ok and math.isfinite(result.max_diff)

    class Sloppy(Muon):          # a planted bug: weight decay applied twice
        def update(self, param, grad, state, group):
            super().update(param, grad, state, group)
            param.mul_(1 - group["lr"] * group["weight_decay"])
    bad = muon_crosscheck(Sloppy, steps=10, lr=0.02, weight_decay=0.5, device="cpu")
    assert not bad.ok
