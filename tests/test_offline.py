"""Nothing the course loads comes from the network: the pretrained encoder, its tokenizer, the
corpus and the shipped checkpoint all load inside a network namespace with no network at all
(and without HF_HUB_OFFLINE set by the caller: flowlib sets it itself)."""

import os
import shutil
import subprocess
import sys

import pytest

SCRIPT = """
import socket
try:
    socket.create_connection(("pypi.org", 443), timeout=3)
    raise SystemExit("this sandbox has network access; the test proves nothing")
except OSError:
    pass
from flowlib.data import pydoc_corpus
from flowlib.pretrained import load_char_gpt, load_minilm
model, tokenizer = load_minilm()
batch = tokenizer(["The needle has a sharp point."])
hidden = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
gpt, chars = load_char_gpt()
print("offline ok", tuple(hidden.shape), len(pydoc_corpus()) > 400_000, chars.vocab_size)
"""


def _no_network_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("util-linux `unshare` is not installed")
    prefix = [unshare, "--net"] if os.geteuid() == 0 else [unshare, "--map-root-user", "--net"]
    if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        pytest.skip("this machine does not allow a private network namespace")
    return prefix


def test_pretrained_models_and_data_load_with_no_network():
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    result = subprocess.run(
        [*_no_network_prefix(), sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "offline ok (1, 9, 384) True" in result.stdout, result.stdout
