"""The training loop: schedule, determinism, evaluation, devices, and its errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from flowlib.data import tensor_batches
from flowlib.precision import rtol
from flowlib.training import History, default_device, mean_loss, seed_everything, to_device, train, warmup_cosine


def regression(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 4, generator=g)
    return x, x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.01 * torch.randn(256, generator=g)


def mse(model, batch):
    x, y = batch
    return torch.nn.functional.mse_loss(model(x).squeeze(-1), y)


def fit(steps: int = 60, **kwargs) -> tuple[torch.nn.Module, History]:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    x, y = regression()
    history = train(model, tensor_batches(x, y, batch_size=32), mse, steps=steps, lr=0.1, progress=False, **kwargs)
    return model, history


def test_warmup_then_cosine_decay():
    assert warmup_cosine(0, 100, 10) == pytest.approx(0.1)
    assert warmup_cosine(9, 100, 10) == pytest.approx(1.0)
    assert warmup_cosine(10, 100, 10) == pytest.approx(1.0)
    assert warmup_cosine(55, 100, 10) == pytest.approx(0.55)  # half way down the cosine to 0.1
    assert warmup_cosine(100, 100, 10) == pytest.approx(0.1)
    assert warmup_cosine(0, 100, 0, min_ratio=0.0) == pytest.approx(1.0)


def test_train_lowers_the_loss_and_records_history():
    x, y = regression(seed=1)
    model, history = fit(eval_fn=lambda m: mse(m, (x, y)), eval_every=25)
    assert history.steps == list(range(1, 61)) and len(history.losses) == 60
    assert history.losses[-1] < 0.05 * history.losses[0]
    assert history.eval_steps == [25, 50, 60] and len(history.eval_losses) == 3
    assert history.eval_losses[-1] < 0.05 and history.seconds > 0
    assert not model.training  # left in eval mode


def test_train_is_deterministic():
    (m1, h1), (m2, h2) = fit(steps=20), fit(steps=20)
    assert h1.losses == h2.losses
    assert torch.equal(m1.weight, m2.weight)


def test_batches_may_be_a_function_of_the_step_and_eval_may_return_metrics():
    x, y = regression()
    model = torch.nn.Linear(4, 1)
    history = train(
        model, lambda step: (x[step % 8 * 32 :][:32], y[step % 8 * 32 :][:32]), mse, steps=10, lr=0.1, progress=False,
        eval_fn=lambda m: {"loss": mse(m, (x, y)), "mae": (m(x).squeeze(-1) - y).abs().mean()}, eval_every=5,
    )  # fmt: skip
    assert history.eval_steps == [5, 10]
    assert len(history.eval_losses) == 2 and len(history.eval_metrics["mae"]) == 2


def test_mean_loss_averages_batches_in_eval_mode():
    x, y = regression()
    model = torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.Linear(4, 1))
    batches = [(x[:128], y[:128]), (x[128:], y[128:])]
    expected = (mse(model[1], batches[0]) + mse(model[1], batches[1])).item() / 2
    assert mean_loss(model, mse, batches) == pytest.approx(expected)
    assert model.training  # mode restored
    with pytest.raises(ValueError, match="no batches"):
        mean_loss(model, mse, [])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"steps": 0}, ValueError, "steps must be a positive int; got 0"),
        ({"lr": -1.0}, ValueError, "lr must be positive; got -1.0"),
        ({"warmup_steps": 50}, ValueError, "warmup_steps must be between 0 and steps=10; got 50"),
        ({"eval_every": 0}, ValueError, "eval_every must be a positive number of steps; got 0"),
        ({"batches": [(torch.zeros(2, 4), torch.zeros(2))] * 3}, ValueError, "batches ran out after 3 of 10 steps"),
        ({"batches": 5}, TypeError, "batches must be an iterable .* got int"),
        ({"loss_fn": lambda m, b: m(b[0])}, ValueError, r"scalar tensor; got Tensor of shape \(2, 1\)"),
        ({"loss_fn": lambda m, b: m(b[0]).sum() * float("nan")}, FloatingPointError, "became nan at step 1"),
    ],
)
def test_bad_arguments_raise(kwargs, error, message):
    arguments = {
        "batches": lambda step: (torch.zeros(2, 4), torch.zeros(2)),
        "loss_fn": mse,
        "steps": 10,
        "progress": False,
    }
    with pytest.raises(error, match=message):
        train(torch.nn.Linear(4, 1), **(arguments | kwargs))


@dataclass
class Pair:
    a: torch.Tensor
    b: list


def test_to_device_walks_containers():
    batch = {"x": (torch.zeros(1), [torch.ones(1)]), "pair": Pair(torch.zeros(2), [torch.zeros(1), 3])}
    moved = to_device(batch, "cpu")
    assert isinstance(moved["x"], tuple) and isinstance(moved["pair"], Pair) and moved["pair"].b[1] == 3
    assert default_device().type in {"cpu", "cuda"}


def test_seed_everything_repeats_random_numbers_and_dropout(monkeypatch):
    seeded = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", seeded.append)  # CUDA's generators too, where there are some
    dropout = torch.nn.Dropout(0.5)
    seed_everything(3)
    first, mask = torch.rand(2), dropout(torch.ones(8))
    seed_everything(3)
    assert torch.equal(torch.rand(2), first) and torch.equal(dropout(torch.ones(8)), mask)
    assert seeded and set(seeded) == {3}


def test_betas_reach_adamw_and_the_optimiser_is_fused(monkeypatch):
    seen = {}
    real = torch.optim.AdamW

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.optim, "AdamW", spy)
    fit(steps=3, betas=(0.8, 0.95))
    assert seen["betas"] == (0.8, 0.95) and seen["fused"] is True
    with pytest.raises(ValueError, match="betas must be two numbers in"):
        fit(steps=3, betas=(0.9, 1.5))


def test_losses_are_read_back_in_batches_not_every_step(monkeypatch):
    reads = []
    real_tolist = torch.Tensor.tolist
    monkeypatch.setattr(torch.Tensor, "item", lambda self: pytest.fail("train() called .item() in the loop"))
    monkeypatch.setattr(torch.Tensor, "tolist", lambda self: reads.append(self.numel()) or real_tolist(self))
    _, history = fit(steps=60, eval_every=30)
    assert reads == [50, 50, 20]  # (loss, gradient norm) pairs every 25 steps and at the end, never per step
    assert history.steps == list(range(1, 61)) and len(history.losses) == 60


def test_float32_on_every_machine_unless_bf16_is_asked_for_by_name(monkeypatch, capsys):
    from flowlib import precision, training

    linear = torch.nn.Linear(4, 1)
    monkeypatch.delenv("FLOWLIB_BF16", raising=False)
    monkeypatch.setattr(precision, "cpu_has_bf16", lambda: True)  # a CPU with native bf16 changes nothing
    assert training.Trainer(linear, mse, 5, device="cpu").autocast is False
    assert training.Trainer(linear, mse, 5, device="cpu", autocast=True).autocast is True  # asked for by name
    monkeypatch.setenv("FLOWLIB_BF16", "0")
    assert training.Trainer(linear, mse, 5, device="cpu").autocast is False
    monkeypatch.setenv("FLOWLIB_BF16", "1")  # the run opts in
    assert training.Trainer(linear, mse, 5, device="cpu").autocast is True
    assert training.Trainer(linear, mse, 5, device="cpu", autocast=False).autocast is False
    x, y = regression()
    history = train(torch.nn.Linear(4, 1), tensor_batches(x, y, batch_size=32), mse, steps=20, lr=0.1)
    assert "bf16 autocast: FLOWLIB_BF16=1" in capsys.readouterr().err and len(history.losses) == 20
    monkeypatch.setenv("FLOWLIB_BF16", "yes")
    with pytest.raises(ValueError, match="FLOWLIB_BF16 must be 1 .* or 0"):
        training.Trainer(linear, mse, 5, device="cpu")


def test_the_tolerance_follows_the_precision_in_force(monkeypatch):
    from flowlib.precision import BF16_RTOL, FLOAT32_RTOL, rtol

    monkeypatch.delenv("FLOWLIB_BF16", raising=False)
    assert rtol() == FLOAT32_RTOL < BF16_RTOL == rtol(bf16=True)
    monkeypatch.setenv("FLOWLIB_BF16", "1")
    assert rtol() == BF16_RTOL and rtol(bf16=False) == FLOAT32_RTOL


def test_history_records_the_gradient_norm_before_clipping_and_the_learning_rate():
    _, clipped = fit(steps=40, clip_norm=1e-3, warmup_steps=4)
    _, free = fit(steps=40, clip_norm=None, warmup_steps=4)
    assert clipped.lrs == pytest.approx([0.1 * warmup_cosine(s, 40, 4) for s in range(40)])
    assert len(clipped.grad_norms) == len(free.grad_norms) == 40
    assert (
        clipped.grad_norms[0] == pytest.approx(free.grad_norms[0]) and clipped.grad_norms[0] > 1e-3
    )  # same first step
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    x, y = next(tensor_batches(*regression(), batch_size=32))
    mse(model, (x, y)).backward()
    by_hand = torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item()
    assert free.grad_norms[0] == pytest.approx(
        by_hand, rel=rtol()
    )  # by hand in float32; train() under FLOWLIB_BF16=1 in bf16
