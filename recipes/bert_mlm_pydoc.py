"""Train a small BERT-style masked language model on Python's documentation, in Hugging Face format.

    python recipes/bert_mlm_pydoc.py [--steps 2000] [--out checkpoints/hf/pydoc-bert-mlm]

1. A lowercasing WordPiece tokenizer (Hugging Face ``tokenizers``, BERT's pre-tokenizer and
   ``[CLS] ... [SEP]`` template) learnt on the training 90% of :func:`flowlib.data.pydoc_corpus`.
2. flowlib's :class:`~flowlib.bert.BertForMaskedLM` (3 layers, d_model 128) trained on its
   paragraphs (up to 64 tokens each) by BERT's 80/10/10 rule, choosing 25% of the tokens (not
   15%: twice the signal per step for a short budget), with padding in every batch.
3. Exported with :func:`flowlib.hf_format.bert_to_hf` and saved with ``save_pretrained`` beside a
   ``BertTokenizerFast``, so ``AutoTokenizer``, ``AutoModelForMaskedLM`` and ``pipeline("fill-mask")``
   load the folder from disk. ``metrics.json`` records the held-out masked-token accuracy.

Two CPU threads, seeded: the same run gives the same weights on the same machine and PyTorch version.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertTokenizerFast

from flowlib.bert import BertConfig, BertForMaskedLM
from flowlib.data import mask_tokens, pad_batch, pydoc_corpus, split
from flowlib.hf_format import bert_to_hf
from flowlib.pretrained import course_model_path
from flowlib.training import train

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # ids 0..4
VOCAB_SIZE, MAX_LEN, BATCH_SIZE, MASK_P = 5000, 64, 32, 0.25  # VOCAB_SIZE: at most (pieces seen twice or more: ~4200)
CONFIG = dict(max_len=MAX_LEN, type_vocab_size=2, d_model=128, n_heads=4, n_layers=3, d_ff=384, dropout=0.0)


def wordpiece(texts: list[str]) -> Tokenizer:
    """A BERT-style (uncased) WordPiece tokenizer learnt from ``texts``."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIALS, min_frequency=2)
    )
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return tok


def paragraphs(text: str, tok: Tokenizer) -> list[list[int]]:
    """Each paragraph of ``text`` as ``[CLS] ... [SEP]`` ids, cut into pieces of at most MAX_LEN tokens."""
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    pieces = []
    for paragraph in (p for p in text.split("\n\n") if p.strip()):
        ids = tok.encode(paragraph, add_special_tokens=False).ids
        for start in range(0, len(ids), MAX_LEN - 2):
            chunk = ids[start : start + MAX_LEN - 2]
            if len(chunk) >= 3:
                pieces.append([cls, *chunk, sep])
    return pieces


def mlm_batches(pieces: list[list[int]], vocab_size: int, seed: int):
    """Endless ``(inputs, labels, attention_mask)`` batches, each ``(batch, time)``: 80/10/10 masking.

    Batches hold pieces of similar length (little padding, so little wasted compute); each epoch
    visits the batches in a fresh seeded order and draws fresh masks.
    """
    generator = torch.Generator().manual_seed(seed)
    by_length = sorted(range(len(pieces)), key=lambda i: len(pieces[i]))
    groups = [by_length[i : i + BATCH_SIZE] for i in range(0, len(by_length) - BATCH_SIZE + 1, BATCH_SIZE)]
    while True:
        for g in torch.randperm(len(groups), generator=generator).tolist():
            padded = pad_batch([pieces[i] for i in groups[g]], pad_id=0)
            inputs, labels = mask_tokens(
                padded.ids, mask_id=4, vocab_size=vocab_size, special_ids=range(5), p=MASK_P, generator=generator
            )
            yield inputs, labels, padded.mask.long()


def mlm_loss(model: BertForMaskedLM, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Cross-entropy at the chosen positions; the head runs only there (the same numbers, 7x less work)."""
    inputs, labels, attention_mask = batch
    chosen = labels != -100
    hidden = model.bert(inputs, attention_mask=attention_mask)[chosen]  # (n_chosen, d_model)
    logits = model.decoder(model.head_norm(model.head_act(model.head_dense(hidden))))
    return F.cross_entropy(logits, labels[chosen])


@torch.no_grad()
def masked_accuracy(model: BertForMaskedLM, pieces: list[list[int]], seed: int = 0) -> tuple[float, int]:
    """Top-1 accuracy at 15% of the (non-special) tokens of ``pieces``, each replaced by [MASK] (as fill-mask sees them)."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    correct = total = 0
    for start in range(0, len(pieces), 256):
        padded = pad_batch(pieces[start : start + 256], pad_id=0)
        chosen = (torch.rand(padded.ids.shape, generator=generator) < 0.15) & (padded.ids >= 5)
        logits = model(padded.ids.masked_fill(chosen, 4), attention_mask=padded.mask.long())
        correct += int((logits.argmax(-1) == padded.ids)[chosen].sum())
        total += int(chosen.sum())
    return correct / total, total


@torch.no_grad()
def bert_init(module: torch.nn.Module) -> None:
    """BERT's initialisation (normal, std 0.02; zero biases): flowlib's modules keep PyTorch's
    defaults, whose N(0, 1) embeddings, tied to the output layer, make the first logits huge."""
    if isinstance(module, (torch.nn.Linear, torch.nn.Embedding)):
        module.weight.normal_(0.0, 0.02)
    if isinstance(module, torch.nn.Linear) and module.bias is not None:
        module.bias.zero_()
    if isinstance(module, torch.nn.Embedding) and module.padding_idx is not None:
        module.weight[module.padding_idx].zero_()


def main(steps: int, out: Path) -> None:
    torch.set_num_threads(2)
    train_text, val_text = split(pydoc_corpus(), 0.1)
    tok = wordpiece([p for p in train_text.split("\n\n") if p.strip()])
    train_pieces, val_pieces = paragraphs(train_text, tok), paragraphs(val_text, tok)
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(vocab_size=tok.get_vocab_size(), pad_id=0, **CONFIG))
    model.apply(bert_init)
    start = time.perf_counter()
    history = train(
        model, mlm_batches(train_pieces, tok.get_vocab_size(), seed=0), mlm_loss, steps=steps, lr=1.5e-3, weight_decay=0.01,
        clip_norm=1.0, device="cpu", autocast=False, eval_every=steps,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    accuracy, n_masked = masked_accuracy(model, val_pieces)
    out.mkdir(parents=True, exist_ok=True)
    bert_to_hf(model).save_pretrained(out)
    BertTokenizerFast(tokenizer_object=tok, do_lower_case=True, model_max_length=MAX_LEN).save_pretrained(out)
    metrics = {
        "heldout_masked_accuracy": round(accuracy, 4),
        "heldout_masked_tokens": n_masked,
        "heldout": "the last 10% of flowlib.data.pydoc_corpus(), 15% of its tokens replaced by [MASK], top-1",
        "final_train_loss": round(history.losses[-1], 4),
        "steps": steps,
        "train_seconds": round(seconds, 1),
        "recipe": f"recipes/bert_mlm_pydoc.py --steps {steps} (torch {torch.__version__}, {platform.machine()}, 2 threads)",
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"held-out masked-token accuracy {accuracy:.3f} on {n_masked} tokens; {steps} steps in {seconds:.0f} s")
    print(f"saved {out} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=course_model_path("pydoc-bert-mlm", must_exist=False))
    args = parser.parse_args()
    main(args.steps, args.out)
