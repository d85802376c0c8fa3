"""Data-parallel optimization with real torch.distributed processes (gloo on 127.0.0.1),
ZeRO stage 1, and the large-batch optimizers LARS and LAMB.

The multi-process tests start two processes per experiment (a few seconds each) and skip, with
the reason, where processes cannot be spawned or joined here.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

import optimlab.optim as ours
from optimlab import distributed as D

WORLD = 2


@pytest.fixture(scope="module")
def launchable():
    ok, reason = D.can_launch(WORLD)
    if not ok:
        pytest.skip(f"cannot start {WORLD} torch.distributed processes here: {reason}")


def max_diff(xs, ys) -> float:
    return max(float((x.detach() - y.detach()).abs().max()) for x, y in zip(xs, ys, strict=True))


# ---------------------------------------------------------------- pure functions

def test_ring_allreduce_bytes():
    assert D.ring_allreduce_bytes(1000, 1) == 0
    assert D.ring_allreduce_bytes(1000, 2) == 1000
    assert D.ring_allreduce_bytes(1000, 4) == 1500
    assert D.ring_allreduce_bytes(1000, 1000) == pytest.approx(1998)
    with pytest.raises(ValueError, match="world_size"):
        D.ring_allreduce_bytes(1000, 0)


def test_shards_cover_the_batch_once():
    batch = torch.arange(11)
    parts = [D.shard_of(batch, r, 3) for r in range(3)]
    assert torch.equal(torch.cat(parts), batch)
    assert sorted(len(p) for p in parts) == [3, 4, 4]


def test_partition_balances_largest_first():
    assert D._partition([10, 1, 1, 8], 2) == [0, 1, 1, 1]
    assert D._partition([5], 3) == [0]


def test_launch_reports_a_failing_process():
    with pytest.raises(RuntimeError, match="process 0 failed"):
        D.launch(D.train_data_parallel, 1, modes=("nonsense",), timeout=60)


# ---------------------------------------------------------------- two real processes

@pytest.fixture(scope="module")
def data_parallel(launchable):
    reference = D.train_data_parallel(0, 1, modes=("single",))["single"]
    runs = D.launch(D.train_data_parallel, WORLD, modes=("scratch", "ddp"), timeout=180)
    return reference, runs


def test_data_parallel_sgd_equals_one_process_on_the_whole_batch(data_parallel):
    reference, runs = data_parallel
    for run in runs:
        for mode in ("scratch", "ddp"):
            assert max_diff(run[mode]["params"], reference["params"]) < 1e-12
            assert run[mode]["losses"] == pytest.approx(reference["losses"], abs=1e-12)


def test_data_parallel_moves_the_weights(data_parallel):
    """Guards against a vacuous pass: the runs really trained."""
    reference, _ = data_parallel
    assert reference["losses"][-1] < 0.6 * reference["losses"][0]


@pytest.fixture(scope="module")
def zero(launchable):
    return D.launch(D.train_zero, WORLD, timeout=180)


def test_zero1_equals_unsharded_adam_and_torchs_zero(zero):
    for run in zero:
        assert max_diff(run["params"]["ours"], run["params"]["plain"]) == 0.0
        assert max_diff(run["params"]["torch"], run["params"]["plain"]) == 0.0


def test_zero1_splits_the_state(zero):
    ours_bytes = [run["state_bytes"]["ours"] for run in zero]
    plain = zero[0]["state_bytes"]["plain"]
    assert sum(ours_bytes) == plain                      # every moment lives somewhere, once
    assert max(ours_bytes) < plain                       # and no process holds it all
    assert [run["state_bytes"]["torch"] for run in zero] == ours_bytes  # same partition as torch's


def test_zero1_consolidated_state_loads_into_a_plain_adam(zero):
    run = zero[0]
    params = [torch.nn.Parameter(p.clone()) for p in run["params"]["ours"]]
    plain = ours.Adam(params, lr=1e-2)
    plain.load_state_dict(run["consolidated"])
    mine, theirs = plain.state_dict(), run["plain_state"]
    assert mine["param_groups"] == theirs["param_groups"]
    assert mine["state"].keys() == theirs["state"].keys()
    for index, state in theirs["state"].items():
        for key, value in state.items():
            assert torch.equal(mine["state"][index][key], value), (index, key)
    assert zero[1]["consolidated"]["state"].keys() == mine["state"].keys()


def test_torchrun_runs_the_same_code(launchable, tmp_path):
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={WORLD}",
         "-m", "optimlab.distributed"],
        capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{WORLD} processes, 30 steps" in result.stdout


# ---------------------------------------------------------------- LARS, by hand

def test_lars_first_steps_by_hand():
    theta = torch.nn.Parameter(torch.tensor([3.0, 4.0], dtype=torch.float64))
    opt = ours.LARS([theta], lr=2.0, momentum=0.5, weight_decay=0.1, trust_coefficient=0.01)
    theta.grad = torch.tensor([0.6, 0.8], dtype=torch.float64)
    opt.step()
    # ‖θ‖ = 5, ‖g‖ = 1: ρ = 0.01·5/(1 + 0.1·5) = 1/30; d = g + 0.1θ = (0.9, 1.2); b = 2ρd
    b1 = 2.0 / 30 * torch.tensor([0.9, 1.2], dtype=torch.float64)
    expected = torch.tensor([3.0, 4.0], dtype=torch.float64) - b1
    assert torch.allclose(theta.detach(), expected, atol=1e-15, rtol=0)
    theta.grad = torch.tensor([0.0, -2.0], dtype=torch.float64)
    opt.step()
    w = expected
    d = torch.tensor([0.0, -2.0], dtype=torch.float64) + 0.1 * w
    rho = 0.01 * w.norm() / (2.0 + 0.1 * w.norm())
    b2 = 0.5 * b1 + 2.0 * rho * d
    assert torch.allclose(theta.detach(), w - b2, atol=1e-15, rtol=0)
    assert torch.allclose(opt.state[theta]["momentum_buffer"], b2, atol=1e-15, rtol=0)


def test_lars_step_length_is_a_fraction_of_the_weights():
    """Without momentum or decay the step is η κ ‖θ‖ whatever the gradient's size."""
    for scale in (1e-3, 1.0, 1e3):
        theta = torch.nn.Parameter(torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64))
        opt = ours.LARS([theta], lr=0.5, momentum=0.0, trust_coefficient=0.02)
        theta.grad = scale * torch.tensor([1.0, -1.0, 3.0], dtype=torch.float64)
        opt.step()
        step = (theta.detach() - torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64)).norm()
        assert float(step) == pytest.approx(0.5 * 0.02 * 3.0, rel=1e-12)


def test_lars_zero_weights_and_excluded_groups_take_plain_steps():
    bias = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    other = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    opt = ours.LARS([{"params": [bias]}, {"params": [other], "trust_coefficient": None}],
                    lr=0.1, momentum=0.0)
    bias.grad = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    other.grad = torch.tensor([5.0, -5.0], dtype=torch.float64)
    opt.step()
    assert torch.allclose(bias.detach(), -0.1 * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    assert torch.allclose(other.detach(), torch.tensor([0.5, 1.5], dtype=torch.float64))


@pytest.mark.parametrize("kwargs,match", [({"lr": -1.0}, "lr"), ({"momentum": 1.0}, "momentum"),
                                          ({"weight_decay": -0.1}, "weight_decay"),
                                          ({"trust_coefficient": 0.0}, "trust_coefficient")])
def test_lars_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=f"Invalid {match}"):
        ours.LARS([torch.nn.Parameter(torch.ones(2))], **kwargs)


# ---------------------------------------------------------------- LAMB, by hand and against pytorch-optimizer

def test_lamb_first_step_by_hand():
    theta = torch.nn.Parameter(torch.tensor([3.0, 4.0], dtype=torch.float64))
    opt = ours.LAMB([theta], lr=0.1, eps=0.0, weight_decay=0.5)
    theta.grad = torch.tensor([0.6, -0.8], dtype=torch.float64)
    opt.step()
    # t = 1: m̂ = g, v̂ = g², so r = sign(g) + 0.5 θ = (2.5, 1); the move is η ‖θ‖ r / ‖r‖
    r = torch.tensor([2.5, 1.0], dtype=torch.float64)
    expected = torch.tensor([3.0, 4.0], dtype=torch.float64) - 0.1 * 5.0 * r / r.norm()
    assert torch.allclose(theta.detach(), expected, atol=1e-15, rtol=0)


def _run_pair(ref_cls, ref_kwargs, our_kwargs, steps=25, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shapes = [(4, 3), (3,), (2, 2, 2)]
    start = [0.5 * torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
    grads = [[torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes] for _ in range(steps)]
    mine = [torch.nn.Parameter(x.clone()) for x in start]
    theirs = [torch.nn.Parameter(x.clone()) for x in start]
    a, b = ours.LAMB(mine, **our_kwargs), ref_cls(theirs, **ref_kwargs)
    for step_grads in grads:
        for p, q, g in zip(mine, theirs, step_grads):
            p.grad, q.grad = g.clone(), g.clone()
        a.step()
        b.step()
    return max_diff(mine, theirs), max_diff(mine, start)


def test_lamb_equals_pytorch_optimizer_without_decay():
    from pytorch_optimizer import Lamb
    diff, moved = _run_pair(Lamb, dict(lr=0.02, betas=(0.9, 0.999), eps=0.0, weight_decay=0.0,
                                       adam_debias=True, foreach=False),
                            dict(lr=0.02, betas=(0.9, 0.999), eps=0.0))
    assert moved > 0.05 and diff < 1e-12


def test_lamb_equals_pytorch_optimizer_with_coupled_decay():
    from pytorch_optimizer import Lamb
    diff, moved = _run_pair(Lamb, dict(lr=0.02, betas=(0.0, 0.0), eps=0.0, weight_decay=0.3,
                                       weight_decouple=False, foreach=False),
                            dict(lr=0.02, betas=(0.0, 0.0), eps=0.0, weight_decay=0.3))
    assert moved > 0.05 and diff < 1e-12


def test_lamb_differs_from_pytorch_optimizers_default_as_documented():
    """Its default applies 1/(1 − β1ᵗ) outside the trust ratio: 10× our first move at β1 = 0.9."""
    from pytorch_optimizer import Lamb
    x = torch.tensor([3.0, 4.0], dtype=torch.float64)
    g = torch.tensor([0.6, -0.8], dtype=torch.float64)
    a, b = torch.nn.Parameter(x.clone()), torch.nn.Parameter(x.clone())
    a.grad, b.grad = g.clone(), g.clone()
    ours.LAMB([a], lr=0.01, eps=0.0).step()
    Lamb([b], lr=0.01, eps=0.0, foreach=False).step()
    assert float((b.detach() - x).norm() / (a.detach() - x).norm()) == pytest.approx(10.0, rel=1e-9)


@pytest.mark.parametrize("kwargs,match", [({"lr": -1.0}, "lr"), ({"eps": -1.0}, "eps"),
                                          ({"betas": (1.0, 0.9)}, r"betas\[0\]"),
                                          ({"betas": (0.9, -0.1)}, r"betas\[1\]"),
                                          ({"weight_decay": -1.0}, "weight_decay")])
def test_lamb_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=f"Invalid {match}"):
        ours.LAMB([torch.nn.Parameter(torch.ones(2))], **kwargs)
