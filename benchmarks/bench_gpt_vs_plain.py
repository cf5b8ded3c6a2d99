"""flowlib's GPT and training step against a plain-PyTorch GPT of nanoGPT's shape, at nanoGPT's CPU config.

nanoGPT's README trains shakespeare-char on a CPU with block 64, batch 12, 4 layers, 4 heads,
d_model 128, no dropout, no bias; AdamW lr 1e-3, betas (0.9, 0.99), weight decay 0.1, 100 warm-up
steps, cosine decay to lr/10, gradient clipping at 1.0. Both models here train on the same batches
(``flowlib.data.lm_batches`` over the pydoc corpus, one character per token) with those settings:

* flowlib: ``flowlib.models.GPT`` stepped by ``flowlib.training.Trainer`` (what ``train`` runs).
* plain: a GPT written out in plain PyTorch in nanoGPT's shape (written here, not nanoGPT's code):
  ``F.scaled_dot_product_attention(is_causal=True)``, exact GELU, ``torch.optim.AdamW`` with
  PyTorch's default implementation on CPU (as nanoGPT uses it on a CPU), ``clip_grad_norm_``.

The two runs are interleaved step by step (flowlib, plain, flowlib, ...), so a busy machine slows
both alike (with ``--threads 1`` each step is timed in this thread's CPU time, which other jobs barely
disturb; with more threads, wall time); the ratio is flowlib / plain of the median step time, and of the whole run. After the
run, both are evaluated on the same held-out batches. Repeated for each seed.

    .venv/bin/python benchmarks/bench_gpt_vs_plain.py [--steps 300] [--seeds 0 1 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from flowlib import data
from flowlib.models import GPT, GPTConfig
from flowlib.tokenizers import CharTokenizer
from flowlib.training import Trainer, cpu_has_bf16, warmup_cosine

BLOCK, BATCH, LAYERS, HEADS, D_MODEL = 64, 12, 4, 4, 128
LR, BETAS, WEIGHT_DECAY, WARMUP, CLIP = 1e-3, (0.9, 0.99), 0.1, 100, 1.0


class PlainAttention(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(d, 3 * d, bias=False)
        self.c_proj = nn.Linear(d, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in self.c_attn(x).split(d, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, d))


class PlainBlock(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(d, bias=False), nn.LayerNorm(d, bias=False)
        self.attn = PlainAttention(d, heads)
        self.c_fc, self.c_proj = nn.Linear(d, 4 * d, bias=False), nn.Linear(4 * d, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x))))


class PlainGPT(nn.Module):
    """Token + position embeddings, pre-LN blocks, final LayerNorm, head tied to the token embedding."""

    def __init__(self, vocab: int, block: int, layers: int, heads: int, d: int) -> None:
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(block, d)
        self.h = nn.ModuleList(PlainBlock(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d, bias=False)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight
        for name, p in self.named_parameters():
            if p.ndim == 2:
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * layers) if name.endswith("c_proj.weight") else 0.02)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx) + self.wpe(torch.arange(idx.size(1), device=idx.device))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def lm_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), y.reshape(-1))


def plain_stepper(model: nn.Module, steps: int, warmup: int):
    params = list(model.parameters())
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": WEIGHT_DECAY},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=LR, betas=BETAS)
    count = [0]

    def step(batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        for group in opt.param_groups:
            group["lr"] = LR * warmup_cosine(count[0], steps, warmup)
        loss = lm_loss(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        count[0] += 1
        return loss.detach()

    return step


@torch.no_grad()
def evaluate(model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    model.eval()
    loss = sum(float(lm_loss(model, b)) for b in batches) / len(batches)
    model.train()
    return loss


def run(
    seed: int, steps: int, train_ids: torch.Tensor, val: list, vocab: int, autocast: bool | None
) -> dict[str, float]:
    torch.manual_seed(seed)
    ours = GPT(
        GPTConfig(
            vocab_size=vocab,
            block_size=BLOCK,
            n_layers=LAYERS,
            n_heads=HEADS,
            d_model=D_MODEL,
            bias=False,
            activation="gelu",
        )
    )
    torch.manual_seed(seed)
    plain = PlainGPT(vocab, BLOCK, LAYERS, HEADS, D_MODEL)
    warmup = min(WARMUP, steps // 3)
    trainer = Trainer(ours, lm_loss, steps, LR, warmup, WEIGHT_DECAY, BETAS, CLIP, device="cpu", autocast=autocast)
    step_plain = plain_stepper(plain, steps, warmup)
    ours.train(), plain.train()
    times: dict[str, list[float]] = {"flowlib": [], "plain": []}
    batches = data.lm_batches(train_ids, BLOCK, BATCH, seed=seed)
    clock = (
        time.thread_time if torch.get_num_threads() == 1 else time.perf_counter
    )  # 1 thread: CPU time, robust on a busy machine
    for _ in range(steps):
        batch = next(batches)
        for name, fn in (("flowlib", trainer.step), ("plain", step_plain)):
            start = clock()
            fn(batch)
            times[name].append(clock() - start)
    return {
        "flowlib_ms": statistics.median(times["flowlib"]) * 1e3,
        "plain_ms": statistics.median(times["plain"]) * 1e3,
        "total_ratio": sum(times["flowlib"]) / sum(times["plain"]),
        "flowlib_val": evaluate(ours, val),
        "plain_val": evaluate(plain, val),
        "autocast": trainer.autocast,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--autocast", choices=["auto", "on", "off"], default="auto", help="flowlib's bf16 autocast")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    text = data.pydoc_corpus()
    tokenizer = CharTokenizer.from_text(text)
    ids = torch.tensor(tokenizer.encode(text))
    train_ids, val_ids = data.split(ids, 0.1)
    val_stream = data.lm_batches(val_ids, BLOCK, BATCH, seed=1234)
    val = [next(val_stream) for _ in range(20)]
    autocast = {"auto": None, "on": True, "off": False}[args.autocast]
    print(
        f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, native bf16 {cpu_has_bf16()}, "
        f"threads {torch.get_num_threads()}; block {BLOCK}, batch {BATCH}, {LAYERS} layers, {HEADS} heads, d_model {D_MODEL}, "
        f"vocab {tokenizer.vocab_size}, {args.steps} steps per seed"
    )
    print(
        f"{'seed':>4} {'bf16':>5} {'flowlib ms':>11} {'plain ms':>9} {'ratio':>6} {'run ratio':>9} {'val flowlib':>11} {'val plain':>9} {'diff':>7}"
    )
    rows = []
    for seed in args.seeds:
        r = run(seed, args.steps, train_ids, val, tokenizer.vocab_size, autocast)
        rows.append(r)
        print(
            f"{seed:>4} {str(r['autocast']):>5} {r['flowlib_ms']:11.2f} {r['plain_ms']:9.2f} {r['flowlib_ms'] / r['plain_ms']:6.3f} "
            f"{r['total_ratio']:9.3f} {r['flowlib_val']:11.4f} {r['plain_val']:9.4f} {r['flowlib_val'] - r['plain_val']:+7.4f}",
            flush=True,
        )
    ratio = statistics.median(r["flowlib_ms"] / r["plain_ms"] for r in rows)
    worst = max(abs(r["flowlib_val"] - r["plain_val"]) for r in rows)
    print(
        f"median step ratio flowlib / plain: {ratio:.3f} (target <= 0.85); largest |val loss difference|: {worst:.4f} (target <= 0.01)"
    )


if __name__ == "__main__":
    main()
