"""The training loop's bookkeeping: counts, order of scheduler and optimizer, evaluation off the clock."""

import warnings

import pytest
import torch

import optimlab.train as train_module
from optimlab.data import load_diabetes, load_digits
from optimlab.optim import SGD
from optimlab.train import History, TensorLoader, accuracy, dataset_loss, make_loader, mlp, train


def _problem(n=40, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = x @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + 0.1 * torch.randn(n, generator=g, dtype=torch.float64)
    return x, y


def _linear():
    model = torch.nn.Linear(3, 1, dtype=torch.float64)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    return model


def mse(out, y):
    return ((out.squeeze(-1) - y) ** 2).mean()


def test_counts_and_evaluations_per_epoch():
    x, y = _problem()
    model = _linear()
    loader = make_loader(x, y, batch_size=7, seed=1)  # 40 examples -> 6 minibatches per epoch
    history = train(model, SGD(model.parameters(), lr=0.05), loader, mse, epochs=3,
                    evaluate=lambda m: {"loss": dataset_loss(m, mse, x, y)}, progress=False)
    assert len(history.losses) == 18
    assert [e["epoch"] for e in history.evals] == [0, 1, 2, 3]
    assert [e["update"] for e in history.evals] == [0, 6, 12, 18]
    assert history.evals[0]["loss"] == pytest.approx(float((y ** 2).mean()))  # zero model predicts 0
    assert history.evals[-1]["loss"] < 0.5 * history.evals[0]["loss"]


def test_equals_a_hand_written_loop():
    x, y = _problem()
    model, reference = _linear(), _linear()
    history = train(model, SGD(model.parameters(), lr=0.1, momentum=0.5), make_loader(x, y, 8, seed=3), mse,
                    epochs=2, progress=False)
    opt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.5)
    losses = []
    loader = make_loader(x, y, 8, seed=3)  # one generator for both epochs, as in train()
    for _ in range(2):
        for xb, yb in loader:
            opt.zero_grad()
            loss = mse(reference(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert history.losses == pytest.approx(losses, abs=1e-12)
    assert torch.allclose(model.weight, reference.weight, atol=1e-12)


def test_scheduler_steps_after_the_optimizer_per_step_and_per_epoch():
    x, y = _problem()
    for interval, expected in (("step", [1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125]),
                               ("epoch", [1.0, 1.0, 1.0, 0.5, 0.5, 0.5])):
        model = _linear()
        opt = SGD(model.parameters(), lr=1.0)
        sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # torch warns when scheduler.step() comes first
            history = train(model, opt, make_loader(x, y, 14, seed=0), mse, epochs=2, scheduler=sched,
                            scheduler_interval=interval, progress=False)
        assert history.lrs == pytest.approx(expected)


def test_evaluation_time_is_not_counted(monkeypatch):
    clock = {"now": 0.0}

    class FakeTime:
        @staticmethod
        def perf_counter():
            clock["now"] += 0.001  # every reading of the clock costs a millisecond of "training"
            return clock["now"]

    def slow_evaluate(model):
        clock["now"] += 100.0  # an evaluation that takes 100 s
        return 0.0

    monkeypatch.setattr(train_module, "time", FakeTime)
    x, y = _problem()
    model = _linear()
    history = train(model, SGD(model.parameters(), lr=0.01), make_loader(x, y, 10), mse, epochs=2,
                    evaluate=slow_evaluate, progress=False)
    times = [e["time"] for e in history.evals]
    assert times[0] == 0.0
    assert times[-1] < 1.0  # 8 updates plus 2 end-of-data fetches, about 1 ms each; no 100 s evaluations
    assert times == sorted(times)


def test_eval_every_and_curve():
    x, y = _problem()
    model = _linear()
    history = train(model, SGD(model.parameters(), lr=0.05), make_loader(x, y, 4), mse, epochs=1,
                    evaluate=lambda m: dataset_loss(m, mse, x, y), eval_every=3, progress=False)
    updates, values = history.curve("loss")
    assert updates == [0, 3, 6, 9, 10]
    assert len(values) == 5


def test_invalid_arguments():
    x, y = _problem()
    model = _linear()
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        train(model, opt, make_loader(x, y, 4), mse, epochs=-1)
    with pytest.raises(ValueError, match="scheduler_interval"):
        train(model, opt, make_loader(x, y, 4), mse, epochs=1, scheduler_interval="batch")
    with pytest.raises(ValueError, match="batch_size"):
        make_loader(x, y, 0)


def test_mlp_is_seeded_and_accuracy_counts():
    a, b, c = mlp(4, [5], 3, seed=1), mlp(4, [5], 3, seed=1), mlp(4, [5], 3, seed=2)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a[0].weight, c[0].weight)
    model = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    assert accuracy(model, x, torch.tensor([0, 1, 1, 1])) == 0.75


def test_offline_datasets_are_split_and_standardized():
    d = load_diabetes(valid_fraction=0.2, seed=0)
    assert d.x_train.shape == (354, 10) and d.x_valid.shape == (88, 10)
    assert torch.allclose(d.x_train.mean(0), torch.zeros(10), atol=1e-5)
    assert torch.allclose(d.x_train.std(0), torch.ones(10), atol=1e-5)
    assert abs(float(d.y_train.mean())) < 1e-5
    again = load_diabetes(valid_fraction=0.2, seed=0)
    assert torch.equal(d.x_valid, again.x_valid)
    digits = load_digits(flatten=False)
    assert digits.x_train.shape[1:] == (1, 8, 8)
    assert digits.x_train.max() <= 1.0 and digits.y_train.dtype == torch.long
    assert len(digits.x_train) + len(digits.x_valid) == 1797
    with pytest.raises(ValueError, match="valid_fraction"):
        load_digits(valid_fraction=1.5)


@pytest.mark.parametrize("batch_size", [1, 3, 7, 20, 25])
@pytest.mark.parametrize("shuffle", [True, False])
def test_tensor_loader_yields_the_data_loader_batches(batch_size, shuffle):
    x = torch.arange(40.0).reshape(20, 2)
    y = torch.arange(20)
    ours, theirs = TensorLoader(x, y, batch_size, shuffle=shuffle, seed=3), make_loader(x, y, batch_size,
                                                                                        shuffle=shuffle, seed=3)
    assert len(ours) == len(theirs)
    for _ in range(3):  # the same batches epoch after epoch: the generators advance alike
        a, b = list(ours), list(theirs)
        assert len(a) == len(b) == len(ours)
        for (xa, ya), (xb, yb) in zip(a, b):
            assert torch.equal(xa, xb) and torch.equal(ya, yb) and ya.dtype == yb.dtype


def test_tensor_loader_arguments_and_training_agree_with_data_loader():
    with pytest.raises(ValueError, match="batch_size"):
        TensorLoader(torch.zeros(4, 2), torch.zeros(4), 0)
    with pytest.raises(ValueError, match="different numbers"):
        TensorLoader(torch.zeros(4, 2), torch.zeros(5), 2)
    x, y = _problem()
    runs = []
    for loader in (TensorLoader(x, y, 6, seed=2), make_loader(x, y, 6, seed=2)):
        model = _linear()
        runs.append(train(model, SGD(model.parameters(), lr=0.05), loader, mse, epochs=3, progress=False).losses)
    assert runs[0] == runs[1]


def test_evaluations_record_fractional_epochs():
    x, y = _problem()
    model = _linear()
    history = train(model, SGD(model.parameters(), lr=0.05), make_loader(x, y, 4), mse, epochs=2,
                    evaluate=lambda m: dataset_loss(m, mse, x, y), eval_every=4, progress=False)
    epochs, _ = history.curve("loss", x="epochs")
    assert epochs == pytest.approx([0.0, 0.4, 0.8, 1.2, 1.6, 2.0])
    assert [e["epoch"] for e in history.evals] == [0, 1, 1, 2, 2, 2]
