"""Timing helpers: their bookkeeping (FLOP counts, shapes, results, repeats), never their speed."""

import pytest
import torch

from optimlab import hardware
from optimlab.hardware import (Timing, TimingTable, matmul_blocked, matmul_columnwise, matmul_elementwise,
                               matmul_flops, matmul_full, matmul_variants, threads, time_call, time_matmuls,
                               time_updates)


def _matrices(n, k, m, dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, k, generator=g, dtype=dtype), torch.randn(k, m, generator=g, dtype=dtype)


def test_flop_count_of_a_product():
    assert matmul_flops(2, 3, 4) == 48
    assert matmul_flops(128, 128, 128) == 2 * 128 ** 3
    assert matmul_flops(0, 5, 5) == 0
    with pytest.raises(ValueError, match="k"):
        matmul_flops(2, -1, 2)
    with pytest.raises(ValueError, match="n"):
        matmul_flops(2.5, 1, 2)


@pytest.mark.parametrize("shape", [(5, 7, 3), (8, 8, 8), (1, 4, 9), (6, 1, 2)])
def test_every_variant_computes_the_product(shape):
    A, B = _matrices(*shape)
    for name, fn in matmul_variants(blocks=(1, 2, 4, 100)).items():
        C = fn(A, B)
        assert C.shape == (shape[0], shape[2]), name
        assert torch.allclose(C, A @ B, atol=1e-12), name


def test_variants_keep_the_dtype_and_reject_bad_shapes():
    A, B = _matrices(3, 4, 5, dtype=torch.float32)
    for fn in (matmul_elementwise, matmul_columnwise, matmul_blocked, matmul_full):
        assert fn(A, B).dtype == torch.float32
        with pytest.raises(ValueError, match="shapes"):
            fn(A, A)
    with pytest.raises(ValueError, match="block"):
        matmul_blocked(A, B, 0)


def test_variant_names_in_order():
    assert list(matmul_variants(blocks=(8, 32))) == ["element-wise", "column-wise", "blocks of 8 columns",
                                                      "blocks of 32 columns", "one product"]


def test_time_call_counts_warmup_and_repeats():
    calls = []
    ticks = iter(range(100))
    durations = time_call(lambda v: calls.append(v), 7, repeats=4, warmup=2, clock=lambda: next(ticks))
    assert calls == [7] * 6
    assert durations == [1, 1, 1, 1]  # a fake clock that advances by one per reading


def test_time_call_stops_at_its_budget():
    calls = []
    ticks = iter(range(0, 1000, 10))  # every call "takes" 10 s
    durations = time_call(lambda: calls.append(1), repeats=50, warmup=0, max_seconds=25, clock=lambda: next(ticks))
    assert durations == [10, 10, 10] and len(calls) == 3
    with pytest.raises(ValueError, match="repeats"):
        time_call(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        time_call(lambda: None, warmup=-1)
    with pytest.raises(ValueError, match="max_seconds"):
        time_call(lambda: None, max_seconds=0)


def test_threads_restores_the_setting():
    before = torch.get_num_threads()
    with threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):
        with threads(1):
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    with threads(None):
        assert torch.get_num_threads() == before


def test_timing_arithmetic_and_table():
    t = Timing("x", seconds=0.5, flops=2_000_000_000, repeats=3, examples=4)
    assert t.gflops == pytest.approx(4.0)
    assert t.seconds_per_example == pytest.approx(0.125)
    assert Timing("y", 0.1).seconds_per_example != Timing("y", 0.1).seconds_per_example  # nan without examples
    table = TimingTable([Timing("slow", 2.0, 10), Timing("fast", 0.5, 10)])
    assert table["fast"].seconds == 0.5 and table[0].name == "slow"
    assert table.ratio("fast", "slow") == pytest.approx(4.0)
    with pytest.raises(KeyError):
        table["missing"]
    text, page = repr(table), table._repr_html_()
    assert "GFLOP/s" in text and "slow" in text and "<table" in page and "fast" in page


def test_time_matmuls_bookkeeping(monkeypatch):
    seen = []

    def fake_time_call(fn, *args, repeats, warmup, max_seconds, device):
        seen.append((repeats, warmup, max_seconds))
        return [3.0, 1.0, 2.0]
    monkeypatch.setattr(hardware, "time_call", fake_time_call)
    table = time_matmuls(n=12, blocks=(4,), repeats=3, max_seconds=0.5)
    assert [t.name for t in table] == ["element-wise", "column-wise", "blocks of 4 columns", "one product"]
    assert all(t.flops == 2 * 12 ** 3 and t.seconds == 2.0 and t.repeats == 3 for t in table)
    assert seen == [(3, 0, 0.5)] * 4


def test_time_matmuls_rejects_a_wrong_variant(monkeypatch):
    wrong = dict(matmul_variants(blocks=()))
    wrong["column-wise"] = lambda A, B: A @ B.T
    monkeypatch.setattr(hardware, "matmul_variants", lambda blocks: wrong)
    with pytest.raises(AssertionError, match="column-wise"):
        time_matmuls(n=6, repeats=1)


def test_time_matmuls_runs_for_real():
    table = time_matmuls(n=8, blocks=(4,), repeats=2)
    assert len(table) == 4 and all(t.seconds > 0 and 1 <= t.repeats <= 2 for t in table)


def test_time_updates_leaves_the_model_untouched():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    before = [p.detach().clone() for p in model.parameters()]
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    table = time_updates(model, torch.nn.functional.mse_loss, x, y, [1, 4, 16], repeats=3, warmup=1)
    assert [t.name for t in table] == ["batch of 1", "batch of 4", "batch of 16"]
    assert [t.examples for t in table] == [1, 4, 16]
    assert all(t.seconds > 0 and t.seconds_per_example == t.seconds / t.examples for t in table)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    with pytest.raises(ValueError, match="batch size"):
        time_updates(model, torch.nn.functional.mse_loss, x, y, [32])
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_time_updates_uses_the_given_optimizer():
    built = []

    def make(params):
        opt = torch.optim.SGD(params, lr=0.1)
        built.append(opt)
        return opt
    model = torch.nn.Linear(2, 1)
    time_updates(model, torch.nn.functional.mse_loss, torch.randn(4, 2), torch.randn(4, 1), [2, 4], optimizer=make,
                 repeats=1, warmup=0)
    assert len(built) == 2
