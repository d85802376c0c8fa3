import pytest
import torch

from optimlab import fast_tools as ft
from optimlab.optim import SGD, Adafactor, Adam, AdamW

# A trimmed piece of Inductor's C++ output for an elementwise update, as it prints it.
GENERATED = r'''
cpp_fused_add_0 = async_compile.cpp_pybinding(['const float*', 'float*'], r"""
extern "C"  void  kernel(const float* in_ptr0, float* out_ptr0)
{
    {
        for(int64_t x0=static_cast<int64_t>(0L); x0<static_cast<int64_t>(1000L); x0+=static_cast<int64_t>(16L))
        {
            {
                if(C10_LIKELY(x0 >= static_cast<int64_t>(0) && x0 < static_cast<int64_t>(992L)))
                {
                    auto tmp0 = at::vec::Vectorized<float>::loadu(out_ptr0 + static_cast<int64_t>(x0), static_cast<int64_t>(16));
                    auto tmp1 = at::vec::Vectorized<float>::loadu(in_ptr0 + static_cast<int64_t>(x0), static_cast<int64_t>(16));
                    auto tmp2 = static_cast<float>(0.5);
                    auto tmp3 = c10::convert<double>(tmp2);
                    auto tmp4 = tmp0 + tmp1;
                    tmp4.store(out_ptr0 + static_cast<int64_t>(x0));
                }
                if(C10_UNLIKELY(x0 >= static_cast<int64_t>(992L) && x0 < static_cast<int64_t>(1000L)))
                {
                    auto tmp0 = in_ptr0[x0];
                }
            }
        }
    }
}
""")
'''


def test_kernel_loop_keeps_the_main_branch_shortened():
    text = ft.kernel_loop(GENERATED, inline_constants=False)
    assert text.splitlines() == [
        "for(int64_t x0=0; x0<1000; x0+=16)",
        "    auto tmp0 = Vec::loadu(out_ptr0 + x0, 16);",
        "    auto tmp1 = Vec::loadu(in_ptr0 + x0, 16);",
        "    auto tmp2 = float(0.5);",
        "    auto tmp3 = double(tmp2);",
        "    auto tmp4 = tmp0 + tmp1;",
        "    tmp4.store(out_ptr0 + x0);",
    ]


def test_kernel_loop_inlines_named_constants():
    code = GENERATED.replace("auto tmp4 = tmp0 + tmp1;", "auto tmp5 = at::vec::Vectorized<float>(tmp2);\n"
                             "auto tmp4 = tmp0 * tmp5 + tmp3 + tmp12;")
    assert ft.kernel_loop(code).splitlines() == [
        "for(int64_t x0=0; x0<1000; x0+=16)",
        "    auto tmp0 = Vec::loadu(out_ptr0 + x0, 16);",
        "    auto tmp1 = Vec::loadu(in_ptr0 + x0, 16);",
        "    auto tmp4 = tmp0 * Vec(0.5) + 0.5 + tmp12;",   # tmp3 = double(tmp2) is a constant too; tmp12 is not tmp1
        "    tmp4.store(out_ptr0 + x0);",
    ]


def test_kernel_loop_wraps_to_the_width_and_refuses_other_code():
    assert max(map(len, ft.kernel_loop(GENERATED, width=30).splitlines())) <= 30
    with pytest.raises(ValueError, match="no vectorised loop"):
        ft.kernel_loop("def f(x):\n    return x + 1\n")


@pytest.mark.parametrize("cls, kwargs, expected", [
    (SGD, {"lr": 0.1}, 0), (SGD, {"lr": 0.1, "momentum": 0.9}, 1), (Adam, {}, 2),
    (Adam, {"amsgrad": True}, 3), (AdamW, {}, 2),
    (Adafactor, {}, (64 + 32) / (64 * 32)),   # one row and one column factor
])
def test_state_numbers_from_the_actual_state(cls, kwargs, expected):
    assert ft.state_numbers(cls, (64, 32), **kwargs) == pytest.approx(expected)


def test_bytes_intensity_and_roofline_by_hand():
    assert ft.step_bytes(1, 2) == 28 and ft.step_bytes(1, 1) == 20 and ft.step_bytes(1, 0) == 12
    assert ft.step_bytes(10, 2, param_bytes=2, state_bytes=4) == 10 * (6 + 16)
    assert ft.intensity(ft.FLOPS_PER_PARAMETER["Adam"], 28) == pytest.approx(13 / 28)
    assert ft.attainable(0.5, 100e9, 30e9) == pytest.approx(15e9)      # memory-bound
    assert ft.attainable(10.0, 100e9, 30e9) == pytest.approx(100e9)    # compute-bound
    with pytest.raises(ValueError, match="Invalid bytes_moved"):
        ft.intensity(1, 0)
    with pytest.raises(ValueError, match="Invalid state"):
        ft.step_bytes(1, -1)


def test_timers_return_positive_medians_and_call_each_contender():
    calls = {"a": 0, "b": 0}

    def bump(k):
        calls[k] += 1

    medians = ft.interleaved_medians({"a": lambda: bump("a"), "b": lambda: bump("b")}, repeats=3, warmup=1)
    assert calls == {"a": 4, "b": 4} and all(v >= 0 for v in medians.values())
    with pytest.raises(ValueError, match="Invalid repeats"):
        ft.interleaved_medians({"a": lambda: None}, repeats=0)
    assert ft.add_bandwidth(10 ** 4, repeats=3) > 0 and ft.matmul_rate(32, repeats=3) > 0


def test_ladder_runs_each_implementation_on_shared_tensors():
    torch.set_num_threads(1)
    medians, first = ft.ladder({"ours": (Adam, {}), "ours, foreach": (Adam, {"foreach": True}),
                                "torch": (torch.optim.Adam, {"foreach": False})},
                               size=1000, n_tensors=3, repeats=2, warmup=0, lr=1e-3)
    assert set(medians) == set(first) == {"ours", "ours, foreach", "torch"}
    assert all(v > 0 for v in medians.values())


def test_step_breakdown_times_three_parts():
    model = torch.nn.Linear(4, 2)
    x, y = torch.randn(8, 4), torch.randn(8, 2)
    out = ft.step_breakdown(model, torch.nn.functional.mse_loss, x, y,
                            {"sgd": SGD(model.parameters(), lr=0.1)}, repeats=2, warmup=0)
    assert set(out["sgd"]) == {"forward", "backward", "step"}


def test_ops_run_sees_torch_fused_kernel_and_not_the_for_loop():
    p = torch.zeros(10, requires_grad=True)
    p.grad = torch.ones(10)
    fused = torch.optim.Adam([p], fused=True)
    assert ft.ops_run(fused.step, "_fused_") == ["aten::_fused_adam_"]
    loop = torch.optim.Adam([p], foreach=False)
    assert ft.ops_run(loop.step, "_fused_") == []
    assert "aten::lerp_" in ft.ops_run(loop.step)
