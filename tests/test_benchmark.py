import json
import math

import numpy as np
import pytest

from optimlab.benchmark import protocol, spaces, stats
from optimlab.benchmark.spaces import OPTIMIZERS, halton, radical_inverse, sample

INF = math.inf


# --- sampling ------------------------------------------------------------------------------------

def test_radical_inverse_by_hand():
    assert [radical_inverse(i, 2) for i in range(1, 8)] == [0.5, 0.25, 0.75, 0.125, 0.625, 0.375, 0.875]
    assert radical_inverse(1, 3) == pytest.approx(1 / 3)
    assert radical_inverse(4, 3) == pytest.approx(1 / 3 + 1 / 9)      # 4 = "11" in base 3
    assert radical_inverse(9, 3) == pytest.approx(1 / 27)              # 9 = "100"


def test_halton_is_deterministic_and_fills_the_square():
    a, b = halton(16, 2), halton(16, 2)
    assert a == b
    pts = np.array(a)
    assert pts.shape == (16, 2) and (pts >= 0).all() and (pts < 1).all()
    # base 2 in the first coordinate: 16 points put exactly 4 in each quarter of [0, 1)
    assert np.bincount((pts[:, 0] * 4).astype(int), minlength=4).tolist() == [4, 4, 4, 4]


def test_sample_is_deterministic_log_uniform_and_nested():
    spec = OPTIMIZERS["adam"]
    first = sample(spec, 8)
    assert first == sample(spec, 8)
    assert sample(spec, 3) == first[:3]                      # a larger budget extends the trials
    low, high = spec.space["lr"]
    assert first[0]["lr"] == pytest.approx(math.sqrt(low * high))   # u = 1/2: the geometric middle
    assert first[1]["lr"] == pytest.approx(low * (high / low) ** 0.25)
    two = sample(OPTIMIZERS["adamw"], 4)
    assert [sorted(t) for t in two] == [["lr", "weight_decay"]] * 4
    wd_low, wd_high = OPTIMIZERS["adamw"].space["weight_decay"]
    assert two[0]["weight_decay"] == pytest.approx(wd_low * (wd_high / wd_low) ** (1 / 3))


def test_every_space_is_workload_independent_and_covers_the_default_scale():
    for name, spec in OPTIMIZERS.items():
        assert "lr" in spec.space, name
        for key, (low, high) in spec.space.items():
            assert 0 < low < high, (name, key)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="dim"):
        halton(3, 0)
    with pytest.raises(ValueError, match="budget"):
        protocol.run_study("unused", ["logreg"], ["sgd"], budget=0, seeds=1, progress=False)
    with pytest.raises(ValueError, match="workload"):
        protocol.run_study("unused", ["imagenet"], ["sgd"], budget=1, seeds=1, progress=False)


# --- performance profiles and their score --------------------------------------------------------

TIMES = {"A": {"w1": 10.0, "w2": 40.0, "w3": INF},
         "B": {"w1": 20.0, "w2": 20.0, "w3": 30.0},
         "C": {"w1": 50.0, "w2": 70.0, "w3": 90.0}}


def test_ratios_by_hand():
    r = stats.ratios(TIMES)
    assert r["A"] == {"w1": 1.0, "w2": 2.0, "w3": INF}
    assert r["B"] == {"w1": 2.0, "w2": 1.0, "w3": 1.0}
    assert r["C"] == {"w1": 5.0, "w2": 3.5, "w3": 3.0}


def test_profile_by_hand():
    r = stats.ratios(TIMES)
    taus = [1.0, 1.99, 2.0, 3.0, 3.5, 4.0]
    np.testing.assert_allclose(stats.profile(r["A"], taus), [1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(stats.profile(r["B"], taus), [2 / 3, 2 / 3, 1, 1, 1, 1])
    np.testing.assert_allclose(stats.profile(r["C"], taus), [0, 0, 0, 1 / 3, 2 / 3, 2 / 3])


def test_score_by_hand_and_as_an_area():
    r = stats.ratios(TIMES)
    # A: (3/3 + 2/3 + 0) / 3;  B: (2/3 + 1 + 1) / 3;  C: (0 + 0.5/3 + 1/3) / 3
    assert stats.profile_score(r["A"]) == pytest.approx(5 / 9)
    assert stats.profile_score(r["B"]) == pytest.approx(8 / 9)
    assert stats.profile_score(r["C"]) == pytest.approx(0.5 / 3)
    taus = np.linspace(1, 4, 30_001)
    for o in TIMES:                        # the same number as a Riemann sum of the step function
        area = stats.profile(r[o], taus)[:-1].mean()
        assert area == pytest.approx(stats.profile_score(r[o]), abs=1e-3)


def test_a_workload_nobody_solves_counts_against_everyone():
    r = stats.ratios({"A": {"w1": 5.0, "w2": INF}, "B": {"w1": 10.0, "w2": INF}})
    assert r["A"]["w2"] == INF and r["B"]["w2"] == INF
    assert stats.profile_score(r["A"]) == pytest.approx(0.5)
    assert stats.profile_score(r["B"]) == pytest.approx((4 - 2) / 3 / 2)


def test_times_to_target_is_the_median_and_misses_when_most_seeds_miss():
    def rec(o, i, s):
        return {"workload": "w", "optimizer": o, "kind": "seed", "index": i, "steps_to_target": s}
    groups = stats.summarize([rec("A", 1, 40), rec("A", 2, 20), rec("A", 3, None),
                              rec("B", 1, None), rec("B", 2, None), rec("B", 3, 10)])
    times = stats.times_to_target(groups)
    assert times["A"]["w"] == 40.0 and times["B"]["w"] == INF


# --- bootstrap intervals -------------------------------------------------------------------------

def test_bootstrap_interval_covers_the_mean_at_about_its_nominal_rate():
    rng = np.random.default_rng(1)
    hits = 0
    replicates = 300
    for k in range(replicates):
        x = rng.normal(2.0, 1.5, size=40)
        lo, hi = stats.bootstrap_ci(x, n_boot=1000, seed=k)
        hits += lo <= 2.0 <= hi
    assert 0.89 <= hits / replicates <= 0.99          # nominal 0.95; percentile intervals run a bit short


def test_bootstrap_interval_properties():
    x = np.arange(10.0)
    lo, hi = stats.bootstrap_ci(x)
    assert lo < x.mean() < hi
    lo99, hi99 = stats.bootstrap_ci(x, level=0.99)
    assert lo99 <= lo and hi <= hi99
    assert stats.bootstrap_ci([3.0, 3.0, 3.0]) == (3.0, 3.0)
    assert stats.bootstrap_ci(x) == stats.bootstrap_ci(x)             # seeded: reproducible
    lo, hi = stats.bootstrap_ci([10.0, 20.0, INF, INF, INF], np.median)
    assert hi == INF and not math.isnan(lo)
    with pytest.raises(ValueError, match="level"):
        stats.bootstrap_ci(x, level=1.5)


# --- the protocol ---------------------------------------------------------------------------------

def _rec(i, steps, error, kind="tune"):
    return {"kind": kind, "index": i, "steps_to_target": steps, "final_error": error, "hparams": {"lr": i}}


def test_best_trial_prefers_fewest_steps_then_lowest_error():
    assert protocol.best_trial([_rec(0, 100, 0.01), _rec(1, 60, 0.05), _rec(2, None, 0.0)])["index"] == 1
    assert protocol.best_trial([_rec(0, None, 0.3), _rec(1, None, 0.2), _rec(2, 5, 0.0, "default")])["index"] == 1


def test_an_interrupted_study_resumes_without_repeating_trials(tmp_path, monkeypatch):
    calls = []
    real = protocol.run_trial

    def counting(*job):
        calls.append(job[:2] + job[4:])
        return real(*job)

    monkeypatch.setattr(protocol, "run_trial", counting)
    args = dict(workloads=["logreg"], optimizers=["sgd", "adam"], budget=2, seeds=2, jobs=1,
                progress=False, argv=["run", "--test"])
    assert protocol.run_study(tmp_path, **args) == {"tune": 6, "seed": 4}   # 2 × (2 + default) + 2 × 2
    assert len(calls) == 10
    files = sorted((tmp_path / "trials").rglob("*.json"))
    assert len(files) == 10
    kept = {p: p.read_text() for p in files}
    removed = [tmp_path / "trials/logreg/adam/tune-1.json", tmp_path / "trials/logreg/sgd/seed-2.json"]
    for p in removed:
        p.unlink()
    calls.clear()
    ran = protocol.run_study(tmp_path, **args)
    assert len(calls) == ran["tune"] + ran["seed"]
    assert ("logreg", "sgd", "seed", 2) in calls and ("logreg", "adam", "tune", 1) in calls
    # the rerun may redo adam's seeds only if its best trial changed; the trial itself is deterministic
    assert ran["tune"] == 1 and ran["seed"] == 1
    for p, text in kept.items():
        if p not in removed:
            assert p.read_text() == text                  # finished trials are not touched
    again, before = json.loads(removed[0].read_text()), json.loads(kept[removed[0]])
    for key in ("seconds", "seconds_to_target"):                  # CPU time varies; the rest not
        again.pop(key), before.pop(key)
    assert again == before                                        # a rerun reproduces the trial
    calls.clear()
    assert protocol.run_study(tmp_path, **args) == {"tune": 0, "seed": 0} and not calls
    meta = json.loads((tmp_path / "study.json").read_text())
    assert meta["config"]["budget"] == 2 and meta["environment"]["command"].endswith("run --test")
    assert {"platform", "cpu_count"} <= set(meta["environment"]["machine"])
    assert "torch" in meta["environment"]["versions"]
    from optimlab.benchmark.__main__ import main
    assert main(["report", str(tmp_path)]) == 0                       # tables and figures
    assert {p.name for p in (tmp_path / "figures").iterdir()} == {"profiles.png", "errors.png",
                                                                 "sensitivity.png"}


def test_a_trial_whose_hyperparameters_changed_is_run_again(tmp_path, monkeypatch):
    calls = []
    real = protocol.run_trial
    monkeypatch.setattr(protocol, "run_trial", lambda *job: calls.append(job[4:]) or real(*job))
    args = dict(workloads=["logreg"], optimizers=["sgd"], budget=1, seeds=1, jobs=1, progress=False)
    protocol.run_study(tmp_path, **args)
    path = tmp_path / "trials/logreg/sgd/tune-0.json"
    record = json.loads(path.read_text())
    record["hparams"] = {"lr": 123.0}                     # as if the search space had changed
    path.write_text(json.dumps(record))
    calls.clear()
    protocol.run_study(tmp_path, **args)
    assert calls == [("tune", 0)]
    assert json.loads(path.read_text())["hparams"] == spaces.sample(OPTIMIZERS["sgd"], 1)[0]


def test_packaged_snapshot_is_the_committed_study():
    """The chapter reads the snapshot packed with optimlab; it must be the study folder's content
    (after a new study: ``optimlab.benchmark.protocol.save_snapshot("benchmark_results")``)."""
    from pathlib import Path

    from optimlab.benchmark.protocol import load_study
    folder = Path(__file__).resolve().parents[1] / "benchmark_results"
    assert load_study() == load_study(folder)
