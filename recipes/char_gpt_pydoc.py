"""Train lesson 5's character-level GPT on Python's documentation; save checkpoints/char_gpt_pydoc.pt.

    python recipes/char_gpt_pydoc.py [--steps 2000] [--out checkpoints/char_gpt_pydoc.pt]

One CPU thread, seeded: the same run gives the same weights on the same machine and PyTorch
version. Load the result with ``flowlib.pretrained.load_char_gpt()``.
"""

from __future__ import annotations

import argparse
import itertools
import platform
from dataclasses import asdict

import torch
import torch.nn.functional as F

from flowlib.data import lm_batches, pydoc_corpus, split
from flowlib.models import GPT, GPTConfig
from flowlib.pretrained import CHAR_GPT_PATH
from flowlib.tokenizers import CharTokenizer
from flowlib.training import mean_loss, train

CONFIG = dict(block_size=64, n_layers=3, n_heads=4, d_model=128, dropout=0.0)
BATCH_SIZE = 32


def next_char_loss(model: GPT, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of the next character at every position: inputs, targets (batch, time)."""
    inputs, targets = batch
    return F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten())


def main(steps: int, out: str) -> None:
    torch.set_num_threads(1)
    text = pydoc_corpus()
    tokenizer = CharTokenizer.from_text(text)
    train_text, val_text = split(text, 0.1)
    train_ids, val_ids = (torch.tensor(tokenizer.encode(t)) for t in (train_text, val_text))
    config = GPTConfig(vocab_size=tokenizer.vocab_size, **CONFIG)
    torch.manual_seed(0)
    model = GPT(config)
    val_batches = list(itertools.islice(lm_batches(val_ids, config.block_size, 64, seed=1), 4))
    history = train(
        model, lm_batches(train_ids, config.block_size, BATCH_SIZE, seed=0), next_char_loss, steps=steps,
        lr=3e-3, warmup_steps=steps // 20, weight_decay=0.1, clip_norm=1.0, device="cpu",
        eval_fn=lambda m: mean_loss(m, next_char_loss, val_batches), eval_every=max(1, steps // 10),
    )  # fmt: skip
    torch.save(
        {
            "config": asdict(config),
            "tokens": list(tokenizer.tokens),
            "specials": list(tokenizer.specials),
            "state_dict": model.state_dict(),
            "val_loss": history.eval_losses[-1],
            "recipe": f"recipes/char_gpt_pydoc.py --steps {steps} (torch {torch.__version__}, {platform.machine()}, "
            f"{history.seconds:.0f} s on 1 thread)",
        },
        out,
    )
    prompt = torch.tensor([tokenizer.encode("The ")])
    sample = model.generate(prompt, 200, temperature=0.8, top_k=20, generator=torch.Generator().manual_seed(0))
    print(f"val loss {history.eval_losses[-1]:.3f} after {steps} steps ({history.seconds:.0f} s); saved {out}")
    print(tokenizer.decode(sample[0]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--out", default=str(CHAR_GPT_PATH))
    args = parser.parse_args()
    main(args.steps, args.out)
