"""Lesson 05's attention-head reading over many sentences; save checkpoints/it_attention_seeds.json.

    python recipes/it_attention_sentences.py --seeds 0-23

The lesson reads one head of MiniLM (layer 3, head 1) on one sentence and its control: "The animal
did not cross the street because it was too tired" (it = the animal) and "... too wide" (it = the
street). Which sentences were picked decides such a reading, so here a seed picks a new pair from
the same template, "The {subject} did not cross the {object} because it was too {adjective}.": a
subject, an object, an adjective that makes "it" the subject and one that makes it the object. Per
pair it records the share of the attention of "it" that goes to the subject and to the object, in
both sentences. The pretrained model is fixed; the seed only picks the words. Float32 unless bf16.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from flowlib.explorer import attention_for

NAME = "it_attention"
QUICK = True  # a fraction of a second a pair
LAYER, HEAD = 3, 1
SUBJECTS = ("animal", "dog", "horse", "cat", "child", "deer", "fox", "cow", "goat", "sheep")
OBJECTS = ("street", "road", "river", "bridge", "field", "highway", "stream", "track", "lane", "path")
SUBJECT_ADJECTIVES = ("tired", "scared", "weak", "slow", "nervous", "old", "sick")  # it = the subject
OBJECT_ADJECTIVES = ("wide", "busy", "icy", "crowded", "long", "deep", "narrow")  # it = the object
MAJORITY_FROM = 8  # claims about "most pairs": judged from this many on
CLAIMS = {
    "05.it_prefers_subject": "in layer 3, head 1, 'it' gives the subject more attention than the object when it "
    "refers to the subject, on most sentence pairs",
    "05.it_follows_meaning": "changing the adjective so that 'it' refers to the object moves attention from the "
    "subject to the object on most pairs",
    "05.it_stays_on_subject": "after that change 'it' still gives the subject more attention than the object on most pairs",
}


def sentences(seed: int) -> tuple[str, str, str, str]:
    """(subject, object, the sentence where it = the subject, the one where it = the object) for ``seed``."""
    rng = random.Random(seed)
    subject, obj = rng.choice(SUBJECTS), rng.choice(OBJECTS)
    template = f"The {subject} did not cross the {obj} because it was too {{}}."
    return subject, obj, template.format(rng.choice(SUBJECT_ADJECTIVES)), template.format(rng.choice(OBJECT_ADJECTIVES))


def shares(sentence: str, words: tuple[str, str]) -> list[float]:
    """The share of the attention of 'it' (layer LAYER, head HEAD) that goes to each of ``words``."""
    tokens, weights = attention_for("MiniLM (all-MiniLM-L6-v2)", sentence)  # weights (layers, heads, T, T)
    row = weights[LAYER, HEAD, tokens.index("it")]
    return [row[tokens.index(word)].item() for word in words]


def measure(seed: int, *, bf16: bool = False) -> dict[str, float]:
    """The shares of 'it' on the subject and the object, in both sentences of the pair of ``seed``."""
    subject, obj, to_subject, to_object = sentences(seed)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        (s_s, o_s), (s_o, o_o) = shares(to_subject, (subject, obj)), shares(to_object, (subject, obj))
    return {
        "subject_when_subject": round(s_s, 4),
        "object_when_subject": round(o_s, 4),
        "subject_when_object": round(s_o, 4),
        "object_when_object": round(o_o, 4),
    }


def judge(runs: dict[int, dict[str, float]]) -> dict[str, tuple[bool, str]]:
    """Each claim of CLAIMS against the pairs in ``runs`` (all need MAJORITY_FROM pairs: one pair decides none)."""
    n = len(runs)
    if n < MAJORITY_FROM:
        return {}

    def col(key: str) -> np.ndarray:
        return np.array([r[key] for r in runs.values()])

    lean = col("subject_when_subject") - col("object_when_subject")
    moved = (col("subject_when_object") < col("subject_when_subject")) & (
        col("object_when_object") > col("object_when_subject")
    )
    still = col("subject_when_object") - col("object_when_object")
    return {
        "05.it_prefers_subject": (
            bool((lean > 0).sum() > n / 2),
            f"subject - object when it = the subject: more on {(lean > 0).sum()} of {n}, "
            f"{lean.min():+.2f} to {lean.max():+.2f}",
        ),
        "05.it_follows_meaning": (
            bool(moved.sum() > n / 2),
            f"attention moved from subject to object on {moved.sum()} of {n}",
        ),
        "05.it_stays_on_subject": (
            bool((still > 0).sum() > n / 2),
            f"subject - object when it = the object: more on {(still > 0).sum()} of {n}, "
            f"{still.min():+.2f} to {still.max():+.2f}",
        ),
    }


if __name__ == "__main__":
    from seeded import run_recipe

    run_recipe(NAME, measure, judge, default_seeds="0-23")
