"""Known-wrong answers to lesson 09 (training dynamics): each must lose the right points."""

from tests.wrong_answers import WrongAnswer

_LR = "def lr_at(step, total_steps, warmup_steps, peak_lr, min_ratio=0.1):\n"
_COSINE = (
    "    p = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))\n"
    "    return peak_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p)))\n"
)
_CLIP = "def clip_by_global_norm(grads, max_norm):\n"
_GLOBAL = "    total = math.sqrt(sum(float((g ** 2).sum()) for g in grads))\n"

CASES = [
    # --- lr_at -------------------------------------------------------------------------------
    WrongAnswer(
        answer_id="09_lr_at",
        source=_LR + "    if step < warmup_steps:\n        return peak_lr * step / warmup_steps\n" + _COSINE,
        fails=["09_lr_at_tests_warmup", "09_lr_at_tests_hidden"],
        message="a warm-up that starts from 0",
        passes=["09_lr_at_tests_decay"],
    ),
    WrongAnswer(
        answer_id="09_lr_at",
        source=(
            _LR + "    if step < warmup_steps:\n        return peak_lr * (step + 1) / warmup_steps\n"
            "    p = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))\n"
            "    return peak_lr * 0.5 * (1 + math.cos(math.pi * p))\n"  # decays to 0, not to min_ratio * peak_lr
        ),
        fails=["09_lr_at_tests_decay", "09_lr_at_tests_hidden"],
        message="a cosine down to 0",
        passes=["09_lr_at_tests_warmup"],
    ),
    WrongAnswer(
        answer_id="09_lr_at",
        source=(
            _LR + "    if step < warmup_steps:\n        return peak_lr * (step + 1) / warmup_steps\n"
            "    p = min(1.0, step / total_steps)\n"  # progress not counted from the end of the warm-up
            "    return peak_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p)))\n"
        ),
        fails=["09_lr_at_tests_warmup", "09_lr_at_tests_decay", "09_lr_at_tests_hidden"],
        message="step / total_steps",
    ),
    WrongAnswer(
        answer_id="09_lr_at",
        source=(
            _LR + "    if step < warmup_steps:\n        return peak_lr * (step + 1) / warmup_steps\n"
            "    p = (step - warmup_steps) / (total_steps - warmup_steps)\n"  # not capped at 1
            "    return peak_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p)))\n"
        ),
        fails=["09_lr_at_tests_decay", "09_lr_at_tests_hidden"],
        message="progress not capped at 1",
        passes=["09_lr_at_tests_warmup"],
    ),
    WrongAnswer(
        answer_id="09_lr_at",
        source=(
            _LR + "    warm = peak_lr * (step + 1) / warmup_steps\n"  # divides by zero when warmup_steps == 0
            "    if step < warmup_steps:\n        return warm\n" + _COSINE
        ),
        fails=["09_lr_at_tests_warmup", "09_lr_at_tests_hidden"],
        message="ZeroDivisionError",
        passes=["09_lr_at_tests_decay"],
    ),
    # --- clip_by_global_norm -----------------------------------------------------------------
    WrongAnswer(
        answer_id="09_clip_by_global_norm",
        source=(
            _CLIP + _GLOBAL + "    out = []\n    for g in grads:\n        n = float(g.norm())\n"
            "        out.append(g * (max_norm / n) if n > max_norm else g)\n"  # each tensor clipped on its own
            "    return out, total\n"
        ),
        fails=["09_clip_by_global_norm_tests_basic", "09_clip_by_global_norm_tests_hidden"],
        message="each tensor clipped to max_norm on its own",
        passes=["09_clip_by_global_norm_tests_edges"],
    ),
    WrongAnswer(
        answer_id="09_clip_by_global_norm",
        source=_CLIP
        + _GLOBAL
        + "    return [g * (max_norm / total) for g in grads], total\n",  # always rescaled, even up; 0 / 0
        fails=["09_clip_by_global_norm_tests_edges", "09_clip_by_global_norm_tests_hidden"],
        message="scaled up",
        passes=["09_clip_by_global_norm_tests_basic"],
    ),
    WrongAnswer(
        answer_id="09_clip_by_global_norm",
        source=(
            _CLIP + "    total = sum(float(g.norm()) for g in grads)\n"  # a sum of norms, not one norm
            "    factor = max_norm / total if total > max_norm else 1.0\n"
            "    return [g * factor for g in grads], total\n"
        ),
        fails=[
            "09_clip_by_global_norm_tests_basic",
            "09_clip_by_global_norm_tests_edges",
            "09_clip_by_global_norm_tests_hidden",
        ],
        message="the sum of the tensors' own norms",
    ),
    WrongAnswer(
        answer_id="09_clip_by_global_norm",
        source=(
            _CLIP + _GLOBAL + "    factor = max_norm / total if total > max_norm else 1.0\n"
            "    return [g * factor for g in grads], total * factor\n"  # the norm after clipping
        ),
        fails=["09_clip_by_global_norm_tests_basic", "09_clip_by_global_norm_tests_hidden"],
        message="the norm after clipping instead of before",
        passes=["09_clip_by_global_norm_tests_edges"],
    ),
    WrongAnswer(
        answer_id="09_clip_by_global_norm",
        source=_CLIP
        + _GLOBAL
        + "    return [g.clamp(-max_norm, max_norm) for g in grads], total\n",  # clipping by value
        fails=["09_clip_by_global_norm_tests_basic", "09_clip_by_global_norm_tests_hidden"],
        message="clipping by value",
        passes=["09_clip_by_global_norm_tests_edges"],
    ),
]
