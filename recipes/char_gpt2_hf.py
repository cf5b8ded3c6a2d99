"""Export lesson 5's character GPT to Hugging Face's GPT-2 format: checkpoints/hf/pydoc-char-gpt2.

    python recipes/char_gpt2_hf.py [--out checkpoints/hf/pydoc-char-gpt2]

No training: the weights are ``checkpoints/char_gpt_pydoc.pt`` (``recipes/char_gpt_pydoc.py``).
flowlib's GPT has GPT-2's architecture exactly (learned absolute positions, pre-LN blocks with a
final LayerNorm, GELU with the tanh approximation, biases, the output layer tied to the token
embedding), so :func:`flowlib.hf_format.gpt_to_hf` is a renaming and a transpose. The tokenizer is
one token per character (:func:`flowlib.hf_format.char_tokenizer_to_hf`). The generation config
says greedy, so ``pipeline("text-generation", model=path)`` continues a prompt with the same
characters as ``flowlib.generation.generate(..., temperature=0)``, as long as prompt and
continuation fit the 64-character block (GPT-2 cannot look past its position table; flowlib's
``generate`` then slides a window).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from transformers import GenerationConfig

from flowlib.hf_format import char_tokenizer_to_hf, gpt_to_hf
from flowlib.pretrained import course_model_path, load_char_gpt

PROMPT = "Return a new "


def main(out: Path) -> None:
    model, tokenizer = load_char_gpt(device="cpu")
    hf = gpt_to_hf(model)
    new_tokens = model.config.block_size - len(PROMPT)
    hf.generation_config = GenerationConfig(
        do_sample=False, max_new_tokens=new_tokens, pad_token_id=tokenizer.id_of("\n")
    )
    out.mkdir(parents=True, exist_ok=True)
    hf.save_pretrained(out)
    hf_tokenizer = char_tokenizer_to_hf(tokenizer)
    hf_tokenizer.model_max_length = model.config.block_size
    hf_tokenizer.save_pretrained(out)
    prompt = torch.tensor([tokenizer.encode(PROMPT)])
    ours = model.generate(prompt, new_tokens, temperature=0.0)
    theirs = hf.generate(prompt, attention_mask=torch.ones_like(prompt))
    assert torch.equal(ours, theirs), "the exported model does not generate flowlib's greedy tokens"
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"saved {out} ({size / 1e6:.2f} MB); greedy continuation, the same in both:")
    print(repr(tokenizer.decode(ours[0])))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=course_model_path("pydoc-char-gpt2", must_exist=False))
    args = parser.parse_args()
    main(args.out)
