"""Generation with and without the key/value cache, as the text grows past the block size.

A GPT of the lessons' size (block 64, 4 layers, 4 heads, d_model 128, rotary or learned positions)
continues an 8-token prompt. Three ways, timed in the same run, interleaved round by round:

* ``use_cache=False``: every step re-runs the model on the last ``block_size`` tokens;
* ``use_cache=True``: the exact cache, which stops helping past ``block_size`` (it recomputes);
* ``use_cache="sliding"``: keeps helping past ``block_size`` (see ``flowlib.generation.generate``).

Prints milliseconds per generated token for tokens inside the first block and past it, and the
ratio to no cache (below 1 = faster).

    .venv/bin/python benchmarks/bench_generation.py [--tokens 320] [--rounds 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from flowlib.models import GPT, GPTConfig

BLOCK = 64


def step_times(model: GPT, prompt: torch.Tensor, n: int, use_cache: bool | str) -> list[float]:
    """Milliseconds of each generation step (one forward call per generated token)."""
    clock = time.thread_time if torch.get_num_threads() == 1 else time.perf_counter  # 1 thread: CPU time of this thread
    times: list[float] = []
    starts: list[float] = []
    pre = model.register_forward_pre_hook(lambda *_: starts.append(clock()))
    post = model.register_forward_hook(lambda *_: times.append((clock() - starts[-1]) * 1e3))
    try:
        model.generate(prompt, n, temperature=0, use_cache=use_cache)
    finally:
        pre.remove(), post.remove()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=320, help="tokens to generate (past the block of 64)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, block {BLOCK}, 4 layers, d_model 128, batch 1, "
        f"8-token prompt, greedy; median ms per generation step over {args.rounds} rounds"
    )
    print(f"{'positions':<9} {'cache':<8} {'first block':>11} {'ratio':>6} {'past block':>10} {'ratio':>6}")
    for positions in ("rotary", "learned"):
        torch.manual_seed(0)
        model = GPT(
            GPTConfig(vocab_size=96, block_size=BLOCK, n_layers=4, n_heads=4, d_model=128, positions=positions)
        ).eval()
        prompt = torch.randint(0, 96, (1, 8))
        inside_n = BLOCK - prompt.size(1)  # steps whose text still fits the block
        modes: list[bool | str] = [False, True, "sliding"]
        inside: dict[str, list[float]] = {str(m): [] for m in modes}
        past: dict[str, list[float]] = {str(m): [] for m in modes}
        for mode in modes:  # warm-up
            step_times(model, prompt, 8, mode)
        for _ in range(args.rounds):
            for mode in modes:
                times = step_times(model, prompt, args.tokens, mode)
                inside[str(mode)] += times[1:inside_n]  # the first step is the prompt's prefill
                past[str(mode)] += times[inside_n:]
        base_in, base_past = statistics.median(inside["False"]), statistics.median(past["False"])
        for mode in modes:
            a, b = statistics.median(inside[str(mode)]), statistics.median(past[str(mode)])
            print(
                f"{positions:<9} {str(mode):<8} {a:11.2f} {a / base_in:6.2f} {b:10.2f} {b / base_past:6.2f}", flush=True
            )


if __name__ == "__main__":
    main()
