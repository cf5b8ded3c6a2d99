"""Known-wrong answers to lesson 08 (tokenization): each must lose the right points."""

from tests.wrong_answers import WrongAnswer

_PAIR_COUNTS = (
    "def most_frequent_pair(word_counts):\n"
    "    counts = Counter()\n"
    "    for word, n in word_counts.items():\n"
    "        for i in range(len(word) - 1):\n"
    "            counts[(word[i], word[i + 1])] += n\n"
)


def _merge(
    body: str, store: str = "        new_counts[tuple(symbols)] = new_counts.get(tuple(symbols), 0) + n\n"
) -> str:
    """merge_pair with the scan of one word replaced by ``body`` (which builds ``symbols``)."""
    return (
        "def merge_pair(word_counts, pair):\n"
        "    new_counts = {}\n"
        "    for word, n in word_counts.items():\n" + body + store + "    return new_counts\n"
    )


_SCAN_LEFT_TO_RIGHT = (
    "        symbols, i = [], 0\n"
    "        while i < len(word):\n"
    "            if i + 1 < len(word) and (word[i], word[i + 1]) == tuple(pair):\n"
    "                symbols.append(word[i] + word[i + 1])\n"
    "                i += 2\n"
    "            else:\n"
    "                symbols.append(word[i])\n"
    "                i += 1\n"
)

CASES = [
    # --- most_frequent_pair ------------------------------------------------------------------
    WrongAnswer(
        answer_id="08_most_frequent_pair",
        source=_PAIR_COUNTS.replace("+= n", "+= 1") + "    if not counts:\n        return None\n"
        "    return min(counts, key=lambda p: (-counts[p], p))\n",  # every word counted once
        fails=["08_most_frequent_pair_tests"],
        message="add its count, not 1",
    ),
    WrongAnswer(
        answer_id="08_most_frequent_pair",
        source=(
            "def most_frequent_pair(word_counts):\n"
            "    counts = Counter()\n"
            "    for word, n in word_counts.items():\n"
            "        for pair in set(zip(word, word[1:])):\n"  # a repeated pair counted once per word
            "            counts[pair] += n\n"
            "    if not counts:\n        return None\n"
            "    return min(counts, key=lambda p: (-counts[p], p))\n"
        ),
        fails=["08_most_frequent_pair_tests"],
        message="count each position",
    ),
    WrongAnswer(
        answer_id="08_most_frequent_pair",
        source=_PAIR_COUNTS + "    if not counts:\n        return None\n"
        "    return max(counts, key=counts.get)\n",  # a tie goes to the first pair met
        fails=["08_most_frequent_pair_tests_edge"],
        message="not the first one met",
        passes=["08_most_frequent_pair_tests"],
    ),
    WrongAnswer(
        answer_id="08_most_frequent_pair",
        source=_PAIR_COUNTS + "    if not counts:\n        return None\n"
        "    return max(counts, key=lambda p: (counts[p], p))\n",  # a tie goes to the largest pair
        fails=["08_most_frequent_pair_tests", "08_most_frequent_pair_tests_edge"],
        message="the tie-break takes the smaller pair",
    ),
    WrongAnswer(
        answer_id="08_most_frequent_pair",
        source=_PAIR_COUNTS + "    return min(counts, key=lambda p: (-counts[p], p))\n",  # min() of nothing raises
        fails=["08_most_frequent_pair_tests_edge"],
        message="ValueError",
        passes=["08_most_frequent_pair_tests"],
    ),
    WrongAnswer(
        answer_id="08_most_frequent_pair",
        source=(
            "def most_frequent_pair(word_counts):\n"
            "    counts = Counter()\n"
            "    for word, n in word_counts.items():\n"
            "        for i in range(len(word) - 1):\n"
            "            counts[word[i] + word[i + 1]] += n\n"  # glued strings: ('ab', 'c') and ('a', 'bc') collide
            "    if not counts:\n        return None\n"
            "    best = min(counts, key=lambda s: (-counts[s], s))\n"
            "    return (best[0], best[1:])\n"
        ),
        fails=["08_most_frequent_pair_tests_edge"],
        message="different pairs, though both glue",
        passes=["08_most_frequent_pair_tests"],
    ),
    # --- merge_pair --------------------------------------------------------------------------
    WrongAnswer(
        answer_id="08_merge_pair",
        source=_merge(_SCAN_LEFT_TO_RIGHT.replace("i += 2", "i += 1")),  # the second symbol is kept and merged again
        fails=["08_merge_pair_tests"],
        message="continue at i + 2",
    ),
    WrongAnswer(
        answer_id="08_merge_pair",
        source=_merge(
            "        symbols, i = [], len(word) - 1\n"  # right to left: 'a a a' -> 'a aa'
            "        while i >= 0:\n"
            "            if i >= 1 and (word[i - 1], word[i]) == tuple(pair):\n"
            "                symbols.insert(0, word[i - 1] + word[i])\n"
            "                i -= 2\n"
            "            else:\n"
            "                symbols.insert(0, word[i])\n"
            "                i -= 1\n"
        ),
        fails=["08_merge_pair_tests"],
        message="not 'a aa'",
    ),
    WrongAnswer(
        answer_id="08_merge_pair",
        source=_merge(
            "        symbols = ' '.join(word).replace(' '.join(pair), ''.join(pair)).split(' ')\n"
        ),  # text replace
        fails=["08_merge_pair_tests_edge"],
        message="Compare whole symbols",
        passes=["08_merge_pair_tests"],
    ),
    WrongAnswer(
        answer_id="08_merge_pair",
        source=_merge(_SCAN_LEFT_TO_RIGHT, store="        new_counts[tuple(symbols)] = n\n"),  # overwrites a collision
        fails=["08_merge_pair_tests_edge"],
        message="add their counts",
        passes=["08_merge_pair_tests"],
    ),
    WrongAnswer(
        answer_id="08_merge_pair",
        source=(
            "def merge_pair(word_counts, pair):\n"
            "    for word in list(word_counts):\n"  # changes the caller's table in place
            "        n = word_counts.pop(word)\n"
            "        symbols, i = [], 0\n"
            "        while i < len(word):\n"
            "            if i + 1 < len(word) and (word[i], word[i + 1]) == tuple(pair):\n"
            "                symbols.append(word[i] + word[i + 1])\n"
            "                i += 2\n"
            "            else:\n"
            "                symbols.append(word[i])\n"
            "                i += 1\n"
            "        word_counts[tuple(symbols)] = word_counts.get(tuple(symbols), 0) + n\n"
            "    return word_counts\n"
        ),
        fails=["08_merge_pair_tests"],
        message="leave its argument unchanged",
    ),
    WrongAnswer(
        answer_id="08_merge_pair",
        source=_merge(
            _SCAN_LEFT_TO_RIGHT,
            store="        if len(symbols) < len(word):\n"  # words without the pair are dropped
            "            new_counts[tuple(symbols)] = new_counts.get(tuple(symbols), 0) + n\n",
        ),
        fails=["08_merge_pair_tests", "08_merge_pair_tests_edge"],
        message="stays in the table",
    ),
    # --- quiz --------------------------------------------------------------------------------
    WrongAnswer(
        answer_id="08_quiz",
        source=(
            "quiz = {\n"
            '    "A model trained on Python\'s docs will read user questions full of emoji and accented names. Which tokenizer guarantees that no input becomes an unknown token?": "WordPiece",\n'
            '    "A text becomes twice as many tokens under tokenizer A as under tokenizer B. By what factor does A multiply the attention scores per layer and head?": "4",\n'
            "}\n"
        ),
        fails=["08_quiz_tests"],
        message="which base symbols cover every possible text",
    ),
    WrongAnswer(
        answer_id="08_quiz",
        source=(
            "quiz = {\n"
            '    "A model trained on Python\'s docs will read user questions full of emoji and accented names. Which tokenizer guarantees that no input becomes an unknown token?": "byte-level BPE",\n'
            '    "A text becomes twice as many tokens under tokenizer A as under tokenizer B. By what factor does A multiply the attention scores per layer and head?": 2,\n'
            "}\n"
        ),
        fails=["08_quiz_tests"],
        message="is not one of the options",
    ),
]
