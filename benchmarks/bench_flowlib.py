"""Is flowlib's reference transformer as fast as PyTorch's built-in modules? Prints the ratio flowlib / torch.

Each pair is timed side by side in one run: after a warm-up, rounds alternate flowlib and torch
call by call, and the ratio is median / median over all calls. With one thread (the default) each
call is timed in CPU time of this thread (``time.thread_time``), which a busy, shared machine
barely disturbs; with more threads, wall time. Course sizes: batch 16, time 128, d_model 128,
4 heads. Target: every ratio <= 1.10.

    .venv/bin/python benchmarks/bench_flowlib.py [--threads 1] [--rounds 7] [--min-run-time 0.2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from flowlib.attention import MultiHeadAttention, causal_mask, scaled_dot_product_attention
from flowlib.blocks import EncoderBlock
from flowlib.models import GPT, GPTConfig

B, T, D, H, D_FF, VOCAB, LAYERS = 16, 128, 128, 4, 512, 96, 4


def compare(
    name: str, ours: Callable[[], object], theirs: Callable[[], object], rounds: int, min_run_time: float
) -> float:
    clock = time.thread_time if torch.get_num_threads() == 1 else time.perf_counter
    times: dict[Callable[[], object], list[float]] = {ours: [], theirs: []}
    for fn in (ours, theirs, ours, theirs):  # warm-up
        fn()
    start = clock()
    ours()
    calls = max(1, int(min_run_time / max(clock() - start, 1e-6)))
    for _ in range(rounds):
        for _ in range(calls):
            for fn in (ours, theirs):
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                start = clock()
                fn()
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                times[fn].append(clock() - start)
    a, b = statistics.median(times[ours]), statistics.median(times[theirs])
    print(f"{name:<44} {a * 1e3:9.2f} {b * 1e3:9.2f} {a / b:7.3f}", flush=True)
    return a / b


class TorchGPT(nn.Module):
    """The same architecture as flowlib's GPT, from torch.nn.TransformerEncoderLayer and a causal mask."""

    def __init__(self, c: GPTConfig) -> None:
        super().__init__()
        self.tok_emb = nn.Embedding(c.vocab_size, c.d_model)
        self.pos = nn.Parameter(torch.randn(c.block_size, c.d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(
            c.d_model,
            c.n_heads,
            4 * c.d_model,
            dropout=0.0,
            activation=lambda x: F.gelu(x, approximate="tanh"),
            batch_first=True,
            norm_first=True,
        )
        self.stack = nn.TransformerEncoder(layer, c.n_layers, norm=nn.LayerNorm(c.d_model), enable_nested_tensor=False)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        self.lm_head.weight = self.tok_emb.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        T = idx.size(1)
        mask = nn.Transformer.generate_square_subsequent_mask(T, device=idx.device)
        x = self.tok_emb(idx) + self.pos[:T]
        return self.lm_head(self.stack(x, mask=mask, is_causal=True))


def train_step(model: nn.Module, idx: torch.Tensor, targets: torch.Tensor) -> Callable[[], None]:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        logits = model(idx)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--min-run-time", type=float, default=0.2, help="seconds per timing round")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    run = dict(rounds=args.rounds, min_run_time=args.min_run_time)
    print(
        f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, batch {B}, time {T}, d_model {D}, heads {H}"
    )
    print(f"{'(milliseconds)':<44} {'flowlib':>9} {'torch':>9} {'ratio':>7}")
    ratios: dict[str, float] = {}

    def forward_and_backward(name: str, ours: Callable[[], torch.Tensor], theirs: Callable[[], torch.Tensor]) -> None:
        ratios[f"{name} forward"] = compare(f"{name} forward", ours, theirs, **run)
        ratios[f"{name} fwd+bwd"] = compare(
            f"{name} forward+backward", lambda: ours().sum().backward(), lambda: theirs().sum().backward(), **run
        )

    # attention: the fused path of flowlib's function (checks + the kernel) vs the kernel alone
    q, k, v = (torch.randn(B, H, T, D // H, device=device, requires_grad=True) for _ in range(3))
    mask = causal_mask(T, device)
    forward_and_backward(
        "attention (causal)",
        lambda: scaled_dot_product_attention(q, k, v, mask, need_weights=False)[0],
        lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
    )

    # the default call (no need_weights): the fused kernel, weights only if they are used
    name = "attention (causal) default call, [0]"
    ratios["attention default call"] = compare(
        name,
        lambda: scaled_dot_product_attention(q, k, v, mask)[0],
        lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        **run,
    )

    # multi-head self-attention
    x = torch.randn(B, T, D, device=device, requires_grad=True)
    ours_mha = MultiHeadAttention(D, H).to(device)
    torch_mha = nn.MultiheadAttention(D, H, batch_first=True).to(device)
    forward_and_backward("MultiHeadAttention", lambda: ours_mha(x), lambda: torch_mha(x, x, x, need_weights=False)[0])

    # one encoder block (post-LN, ReLU: torch's defaults)
    ours_block = EncoderBlock(D, H, D_FF).to(device)
    torch_block = nn.TransformerEncoderLayer(D, H, D_FF, dropout=0.0, batch_first=True).to(device)
    forward_and_backward("EncoderBlock", lambda: ours_block(x), lambda: torch_block(x))

    # inference (eval, no_grad): here torch switches to its fused C++ "fast path"; flowlib has none
    ours_block.eval(), torch_block.eval()
    with torch.no_grad():
        name = "EncoderBlock inference (torch fast path)"
        ratios["block inference"] = compare(name, lambda: ours_block(x), lambda: torch_block(x), **run)

    # a GPT training step: forward, cross-entropy, backward, AdamW
    config = GPTConfig(vocab_size=VOCAB, block_size=T, n_layers=LAYERS, n_heads=H, d_model=D)
    ours_gpt, torch_gpt = GPT(config).to(device), TorchGPT(config).to(device)
    idx = torch.randint(0, VOCAB, (B, T), device=device)
    targets = torch.randint(0, VOCAB, (B, T), device=device)
    ratios["GPT train step"] = compare(
        f"GPT training step ({LAYERS} layers)",
        train_step(ours_gpt, idx, targets),
        train_step(torch_gpt, idx, targets),
        **run,
    )

    worst = max(ratios, key=ratios.get)
    print(f"worst ratio: {ratios[worst]:.3f} ({worst}); target <= 1.10")


if __name__ == "__main__":
    main()
