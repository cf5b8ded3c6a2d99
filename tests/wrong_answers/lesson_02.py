"""Known-wrong answers to lesson 02 (self-attention): each must lose the right points."""

from tests.wrong_answers import WrongAnswer

CASES = [
    WrongAnswer(
        answer_id="02_softmax",
        source=(
            "def softmax(x, axis=-1):\n"
            "    x = np.asarray(x, dtype=float)\n"
            "    e = np.exp(x - x.max(axis=axis, keepdims=True))\n"
            "    return e / e.sum(axis=0, keepdims=True)\n"  # normalises over the wrong axis
        ),
        fails=["02_softmax_tests_basic"],
        message="do not sum to 1 over the last axis",
        passes=["02_causal_mask_tests", "02_quiz_scaling_tests"],
    ),
    WrongAnswer(
        answer_id="02_softmax",
        source=(
            "def softmax(x, axis=-1):\n"
            "    e = np.exp(x)\n"  # not stable: overflows for large scores
            "    return e / e.sum(axis=axis, keepdims=True)\n"
        ),
        fails=["02_softmax_tests_large_logits"],
        message="overflows",
        passes=["02_softmax_tests_basic", "02_sdpa_tests_basic", "02_sdpa_tests_shapes", "02_sdpa_tests_mask"],
    ),
    WrongAnswer(
        answer_id="02_softmax",
        source=(
            "def softmax(x, axis=-1):\n"
            "    x -= x.max(axis=axis, keepdims=True)\n"  # changes the caller's array
            "    e = np.exp(x)\n"
            "    return e / e.sum(axis=axis, keepdims=True)\n"
        ),
        fails=["02_softmax_tests_basic"],
        message="must not change its input",
        passes=["02_softmax_tests_large_logits"],
    ),
    WrongAnswer(
        answer_id="02_sdpa",
        source=(
            "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
            "    scores = Q @ np.swapaxes(K, -1, -2)\n"  # no 1/sqrt(d_k)
            "    if mask is not None:\n"
            "        scores = np.where(mask, scores, -np.inf)\n"
            "    weights = softmax(scores, axis=-1)\n"
            "    return weights @ V, weights\n"
        ),
        fails=["02_sdpa_tests_basic", "02_sdpa_tests_shapes", "02_sdpa_tests_mask"],
        message="not divided by sqrt(d_k)",
        passes=["02_softmax_tests_basic", "02_softmax_tests_large_logits", "02_causal_mask_tests"],
    ),
    WrongAnswer(
        answer_id="02_sdpa",
        source=(
            "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
            "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])\n"
            "    weights = softmax(scores, axis=-1)\n"
            "    if mask is not None:\n"
            "        weights = np.where(mask, weights, 0.0)\n"  # mask after the softmax
            "    return weights @ V, weights\n"
        ),
        fails=["02_sdpa_tests_mask"],
        message="applied after the softmax",
        passes=["02_sdpa_tests_basic", "02_sdpa_tests_shapes"],
    ),
    WrongAnswer(
        answer_id="02_sdpa",
        source=(
            "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
            "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])\n"
            "    if mask is not None:\n"
            "        scores = np.where(mask, scores, 0.0)\n"  # 0 is not -inf
            "    weights = softmax(scores, axis=-1)\n"
            "    return weights @ V, weights\n"
        ),
        fails=["02_sdpa_tests_mask"],
        message="set to 0 instead of -inf",
        passes=["02_sdpa_tests_basic", "02_sdpa_tests_shapes"],
    ),
    WrongAnswer(
        answer_id="02_sdpa",
        source=(
            "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
            "    scores = Q @ K.T / np.sqrt(Q.shape[-1])\n"  # K.T reverses every axis of a batch
            "    if mask is not None:\n"
            "        scores = np.where(mask, scores, -np.inf)\n"
            "    weights = softmax(scores, axis=-1)\n"
            "    return weights @ V, weights\n"
        ),
        fails=["02_sdpa_tests_shapes"],
        message="np.swapaxes",
        passes=["02_sdpa_tests_basic"],
    ),
    WrongAnswer(
        answer_id="02_sdpa",
        source=(
            "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
            "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])\n"
            "    if mask is not None:\n"
            "        scores = np.where(mask, scores, -np.inf)\n"
            "    weights = softmax(scores, axis=-2)\n"  # normalises over the queries
            "    return weights @ V, weights\n"
        ),
        fails=["02_sdpa_tests_basic", "02_sdpa_tests_shapes"],
        message="over the keys axis",
        passes=["02_softmax_tests_basic", "02_causal_mask_tests"],
    ),
    WrongAnswer(
        answer_id="02_causal_mask",
        source="def causal_mask(T):\n    return np.tril(np.ones((T, T), dtype=bool), k=-1)\n",  # masks the diagonal
        fails=["02_causal_mask_tests"],
        message="attend to itself",
        passes=["02_sdpa_tests_mask"],
    ),
    WrongAnswer(
        answer_id="02_causal_mask",
        source="def causal_mask(T):\n    return np.tril(np.ones((T, T), dtype=bool), k=1)\n",  # one step into the future
        fails=["02_causal_mask_tests"],
        message="off by one",
    ),
    WrongAnswer(
        answer_id="02_causal_mask",
        source="def causal_mask(T):\n    return np.triu(np.ones((T, T), dtype=bool), k=1)\n",  # True = blocked (flipped)
        fails=["02_causal_mask_tests"],
        message="flipped",
    ),
    WrongAnswer(
        answer_id="02_quiz_scaling",
        source='answer_scaling = "A"\n',
        fails=["02_quiz_scaling_tests"],
        message="not the best answer",
        passes=["02_softmax_tests_basic"],
    ),
]
