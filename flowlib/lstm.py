"""The LSTM baseline of lesson 1: a recurrent network reads one token at a time, carrying a fixed-size state."""

from __future__ import annotations

import torch.nn as nn
from torch import Tensor

from flowlib.models import _check_ids


class LSTMBaseline(nn.Module):
    """Embedding + nn.LSTM + linear head: ids (batch, time) -> (batch, time, n_outputs), one step at a time.

    Parameters: ``embed``, ``lstm`` (batch_first), ``head``. n_outputs defaults to vocab_size.
    """

    def __init__(
        self, vocab_size: int, d_model: int = 128, n_outputs: int | None = None, n_layers: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(vocab_size, d_model)
        self.lstm = nn.LSTM(
            d_model, d_model, num_layers=n_layers, batch_first=True, dropout=dropout if n_layers > 1 else 0.0
        )
        self.head = nn.Linear(d_model, n_outputs if n_outputs is not None else vocab_size)

    def forward(self, ids: Tensor) -> Tensor:
        _check_ids(ids, self.vocab_size)
        out, _ = self.lstm(self.embed(ids))
        return self.head(out)
