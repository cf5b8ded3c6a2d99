"""flowlib.bpe: pair counting, one merge step, training, encoding, and agreement with Hugging Face."""

import json

import pytest

from flowlib import bpe, data

SENNRICH = {
    ("l", "o", "w"): 5,
    ("l", "o", "w", "e", "r"): 2,
    ("n", "e", "w", "e", "s", "t"): 6,
    ("w", "i", "d", "e", "s", "t"): 3,
}


def test_word_counts_splits_words_into_characters():
    assert bpe.word_counts("low low lower") == {("l", "o", "w"): 2, ("l", "o", "w", "e", "r"): 1}
    assert bpe.word_counts(["ab", "ab"]) == {("a", "b"): 2}
    assert bpe.word_counts("") == {}


def test_pair_counts_weights_by_word_count_and_counts_overlaps():
    counts = bpe.pair_counts(SENNRICH)
    assert counts["e", "s"] == 9 and counts["l", "o"] == 7 and counts["w", "e"] == 8
    assert bpe.pair_counts({("a", "a", "a", "a"): 2})["a", "a"] == 6
    assert bpe.pair_counts({("a",): 4}) == {} and bpe.pair_counts({}) == {}


def test_most_frequent_pair_and_its_tie_break():
    assert bpe.most_frequent_pair(SENNRICH) == ("e", "s")
    assert bpe.most_frequent_pair({("b", "c"): 1, ("a", "d"): 1}) == ("a", "d")
    assert bpe.most_frequent_pair({("x", "b"): 2, ("x", "a"): 2}) == ("x", "a")
    assert bpe.most_frequent_pair({}) is None and bpe.most_frequent_pair({("z",): 3}) is None


def test_merge_pair_left_to_right_without_overlap_and_sums_collisions():
    assert bpe.merge_pair({("a", "a", "a", "a"): 1}, ("a", "a")) == {("aa", "aa"): 1}
    assert bpe.merge_pair({("a", "a", "a"): 1}, ("a", "a")) == {("aa", "a"): 1}
    assert bpe.merge_pair({("a", "b"): 3, ("ab",): 2}, ("a", "b")) == {("ab",): 5}
    assert bpe.merge_pair({("xa", "b"): 1}, ("a", "b")) == {("xa", "b"): 1}  # whole symbols only
    table = {("l", "o", "w"): 5}
    assert bpe.merge_pair(table, ("l", "o")) == {("lo", "w"): 5} and table == {("l", "o", "w"): 5}
    assert bpe.merge_pair({}, ("a", "b")) == {}


def test_train_and_encode():
    merges, steps, final = bpe.train_bpe(SENNRICH, 3)
    assert merges == [("e", "s"), ("es", "t"), ("l", "o")]
    assert [s.count for s in steps] == [9, 9, 7]
    assert final[("lo", "w")] == 5
    assert bpe.encode_word("lowest", merges) == ["lo", "w", "est"]
    assert bpe.train_bpe({("a",): 1}, 5)[0] == []


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: bpe.pair_counts({"low": 5}), TypeError, "tuple"),
        (lambda: bpe.pair_counts({("l",): -1}), ValueError, "non-negative"),
        (lambda: bpe.merge_pair({("l", "o"): 1}, ("lo",)), TypeError, "two"),
        (lambda: bpe.train_bpe(SENNRICH, -1), ValueError, "num_merges"),
        (lambda: bpe.train_bpe(SENNRICH, 1, tie_break="random"), ValueError, "token_id"),
        (lambda: bpe.encode_word(["l"], []), TypeError, "str"),
    ],
)
def test_bad_input_says_what_was_expected(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_same_merges_as_hugging_face_with_its_tie_break():
    tokenizers = pytest.importorskip("tokenizers")
    text = data.pydoc_corpus()[:6000]
    pre = tokenizers.pre_tokenizers.Whitespace()
    table = bpe.word_counts([w for w, _ in pre.pre_tokenize_str(text)])
    alphabet = {s for word in table for s in word}
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = pre
    tok.train_from_iterator([text], tokenizers.trainers.BpeTrainer(vocab_size=len(alphabet) + 60, show_progress=False))
    theirs = [tuple(m.split(" ") if isinstance(m, str) else m) for m in json.loads(tok.to_str())["model"]["merges"]]
    ours, _, _ = bpe.train_bpe(table, 60, tie_break="token_id")
    assert ours == theirs
    for word in ["comprehension", "statement", "identifier"]:
        assert bpe.encode_word(word, ours) == tok.encode(word).tokens
