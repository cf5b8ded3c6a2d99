"""Known-wrong answers to lesson 03 (multi-head attention and positions): each must lose the right points."""

from tests.wrong_answers import WrongAnswer

_SPLIT_OK_ERRORS = (
    "    B, T, D = x.shape\n"
    "    if D % n_heads != 0:\n"
    "        raise ValueError(f'd_model={D} is not divisible by n_heads={n_heads}')\n"
)

_SIN_HEAD = (
    "def sinusoidal_positional_encoding(T, d_model):\n"
    "    pos = torch.arange(T, dtype=torch.float32)[:, None]\n"
    "    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)\n"
)

CASES = [
    WrongAnswer(
        answer_id="03_split_heads",
        source="def split_heads(x, n_heads):\n"
        + _SPLIT_OK_ERRORS
        + "    return x.reshape(B, n_heads, T, D // n_heads)\n",  # no transpose: heads mix tokens
        fails=["03_split_heads_tests"],
        message="without the transpose",
        passes=[
            "03_split_heads_tests_errors",
            "03_merge_heads_tests",
            "03_perm_equivariant_tests",
            "03_sinusoidal_tests_small",
            "03_sinusoidal_tests_large",
        ],
    ),
    WrongAnswer(
        answer_id="03_split_heads",
        source="def split_heads(x, n_heads):\n"
        + _SPLIT_OK_ERRORS
        + "    return x.reshape(B, T, D // n_heads, n_heads).permute(0, 3, 1, 2)\n",  # heads interleaved in d_model
        fails=["03_split_heads_tests"],
        message="wrong axis of d_model",
        passes=["03_split_heads_tests_errors"],
    ),
    WrongAnswer(
        answer_id="03_split_heads",
        source=(
            "def split_heads(x, n_heads):\n"
            "    B, T, D = x.shape\n"  # no check: view fails with a RuntimeError, not a clear ValueError
            "    return x.view(B, T, n_heads, D // n_heads).transpose(1, 2)\n"
        ),
        fails=["03_split_heads_tests_errors"],
        message="expected ValueError",
        passes=["03_split_heads_tests"],
    ),
    WrongAnswer(
        answer_id="03_merge_heads",
        source=(
            "def merge_heads(x):\n    B, H, T, Dh = x.shape\n    return x.reshape(B, T, H * Dh)\n"  # no transpose back
        ),
        fails=["03_merge_heads_tests"],
        message="without first moving the heads axis",
        passes=["03_split_heads_tests", "03_split_heads_tests_errors"],
    ),
    WrongAnswer(
        answer_id="03_perm_equivariant",
        source=(
            "def is_permutation_equivariant(fn, x, perm, atol=1e-5):\n"
            "    return bool(torch.allclose(fn(x[:, perm]), fn(x), atol=atol))\n"  # output not permuted
        ),
        fails=["03_perm_equivariant_tests"],
        message="Compare fn(x[:, perm]) with fn(x)[:, perm]",
        passes=["03_split_heads_tests", "03_sinusoidal_tests_small"],
    ),
    WrongAnswer(
        answer_id="03_perm_equivariant",
        source=(
            "def is_permutation_equivariant(fn, x, perm, atol=1e-5):\n"
            "    return bool(torch.equal(fn(x[:, perm]), fn(x)[:, perm]))\n"  # exact equality: rounding breaks it
        ),
        fails=["03_perm_equivariant_tests"],
        message="tolerance",
    ),
    WrongAnswer(
        answer_id="03_perm_equivariant",
        source=(
            "def is_permutation_equivariant(fn, x, perm, atol=1e-5):\n"
            "    return bool(torch.allclose(fn(x[perm]), fn(x)[perm], atol=atol))\n"  # permutes the batch axis
        ),
        fails=["03_perm_equivariant_tests"],
        message="time axis",
    ),
    WrongAnswer(
        answer_id="03_sinusoidal",
        source=_SIN_HEAD
        + (
            "    angles = pos / 10000 ** (two_i / d_model)\n"
            "    pe = torch.zeros(T, d_model)\n"
            "    pe[:, 0::2] = torch.cos(angles)\n"  # sin and cos swapped
            "    pe[:, 1::2] = torch.sin(angles)\n"
            "    return pe\n"
        ),
        fails=["03_sinusoidal_tests_small", "03_sinusoidal_tests_large"],
        message="swapped",
        passes=["03_split_heads_tests", "03_merge_heads_tests", "03_perm_equivariant_tests"],
    ),
    WrongAnswer(
        answer_id="03_sinusoidal",
        source=_SIN_HEAD
        + (
            "    angles = pos / 10000 ** (two_i / d_model)\n"
            "    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)\n"  # [sin | cos], not interleaved
        ),
        fails=["03_sinusoidal_tests_small", "03_sinusoidal_tests_large"],
        message="concatenated",
    ),
    WrongAnswer(
        answer_id="03_sinusoidal",
        source=_SIN_HEAD
        + (
            "    i = torch.arange(d_model // 2, dtype=torch.float32)\n"
            "    angles = pos / 10000 ** (i / d_model)\n"  # i / d instead of 2i / d
            "    pe = torch.zeros(T, d_model)\n"
            "    pe[:, 0::2] = torch.sin(angles)\n"
            "    pe[:, 1::2] = torch.cos(angles)\n"
            "    return pe\n"
        ),
        fails=["03_sinusoidal_tests_small", "03_sinusoidal_tests_large"],
        message="i / d_model instead of 2i / d_model",
    ),
    WrongAnswer(
        answer_id="03_sinusoidal",
        source=_SIN_HEAD
        + (
            "    angles = (pos + 1) / 10000 ** (two_i / d_model)\n"  # positions 1..T instead of 0..T-1
            "    pe = torch.zeros(T, d_model)\n"
            "    pe[:, 0::2] = torch.sin(angles)\n"
            "    pe[:, 1::2] = torch.cos(angles)\n"
            "    return pe\n"
        ),
        fails=["03_sinusoidal_tests_small", "03_sinusoidal_tests_large"],
        message="start at 1",
    ),
    WrongAnswer(
        answer_id="03_sinusoidal",
        source=_SIN_HEAD
        + (
            "    angles = pos * 10000 ** (two_i / d_model)\n"  # multiplied by the frequency's inverse
            "    pe = torch.zeros(T, d_model)\n"
            "    pe[:, 0::2] = torch.sin(angles)\n"
            "    pe[:, 1::2] = torch.cos(angles)\n"
            "    return pe\n"
        ),
        fails=["03_sinusoidal_tests_small", "03_sinusoidal_tests_large"],
        message="multiplied by 10000**(2i/d_model) instead of divided",
    ),
]
