"""Known-wrong answers to lesson 01 (why transformers): each must lose the right points."""

from tests.wrong_answers import WrongAnswer

_CHECK = (
    "def _check(architecture, n_tokens):\n"
    "    if architecture not in ARCHITECTURES:\n"
    "        raise ValueError(f'architecture must be one of {ARCHITECTURES}; got {architecture!r}')\n"
    "    if n_tokens < 1:\n"
    "        raise ValueError(f'n_tokens must be at least 1; got {n_tokens}')\n"
)

CASES = [
    WrongAnswer(
        answer_id="01_steps",
        source=_CHECK + "def sequential_steps(architecture, n_tokens):\n"
        "    _check(architecture, n_tokens)\n"
        "    return n_tokens if architecture == 'rnn' else 1\n"
        "def max_path_length(architecture, n_tokens):\n"
        "    _check(architecture, n_tokens)\n"
        "    return n_tokens if architecture == 'rnn' else 1\n",  # counts updates, not hops between positions
        fails=["01_steps_tests_rnn"],
        message="hops",
        passes=["01_steps_tests_errors", "01_quiz_tests"],
    ),
    WrongAnswer(
        answer_id="01_steps",
        source=_CHECK + "def sequential_steps(architecture, n_tokens):\n"
        "    _check(architecture, n_tokens)\n"
        "    return n_tokens\n"  # thinks attention also steps through the tokens
        "def max_path_length(architecture, n_tokens):\n"
        "    _check(architecture, n_tokens)\n"
        "    if n_tokens == 1:\n"
        "        return 0\n"
        "    return n_tokens - 1 if architecture == 'rnn' else 1\n",
        fails=["01_steps_tests_attention"],
        message="every position at once",
        passes=["01_steps_tests_rnn", "01_steps_tests_errors"],
    ),
    WrongAnswer(
        answer_id="01_steps",
        source="def sequential_steps(architecture, n_tokens):\n"
        "    return n_tokens if architecture == 'rnn' else 1\n"
        "def max_path_length(architecture, n_tokens):\n"
        "    if n_tokens == 1:\n"
        "        return 0\n"
        "    return n_tokens - 1 if architecture == 'rnn' else 1\n",  # no validation at all
        fails=["01_steps_tests_errors"],
        message="nothing was raised",
        passes=["01_steps_tests_rnn", "01_steps_tests_attention"],
    ),
    WrongAnswer(
        answer_id="01_steps",
        source="def sequential_steps(architecture, n_tokens):\n"
        "    if architecture not in ARCHITECTURES:\n"
        "        raise ValueError('unknown architecture')\n"  # does not say what is valid
        "    return n_tokens if architecture == 'rnn' else 1\n"
        "def max_path_length(architecture, n_tokens):\n"
        "    if architecture not in ARCHITECTURES:\n"
        "        raise ValueError('unknown architecture')\n"
        "    if n_tokens == 1:\n"
        "        return 0\n"
        "    return n_tokens - 1 if architecture == 'rnn' else 1\n",
        fails=["01_steps_tests_errors"],
        message="should mention",
        passes=["01_steps_tests_rnn", "01_steps_tests_attention"],
    ),
    WrongAnswer(
        answer_id="01_quiz",
        source='answer_rnn_limitation = "C"\n',
        fails=["01_quiz_tests"],
        message="not the best answer",
        passes=["01_steps_tests_rnn"],
    ),
    WrongAnswer(
        answer_id="01_quiz",
        source='answer_rnn_limitation = "b"\n',
        fails=["01_quiz_tests"],
        message="not one of the options",
    ),
]
