"""The vision transformer: an image cut into patches, each patch one token, a [CLS] token, a pre-LN Encoder stack."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch import Tensor

from flowlib.models import Encoder
from flowlib.positions import LearnedPositionalEmbedding


@dataclass
class ViTConfig:
    """A small ViT for 28x28 grey images by default (16 patches of 7x7)."""

    image_size: int = 28
    patch_size: int = 7
    in_channels: int = 1
    n_classes: int = 10
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 4
    d_ff: int = 128
    dropout: float = 0.0
    layer_norm_eps: float = 1e-6


class VisionTransformer(nn.Module):
    """Images (batch, channels, H, W) -> patches (batch, n_patches, d_model) -> [CLS] + patches -> logits (batch, n_classes).

    Parameters: ``patch_embed`` (Conv2d, kernel = stride = patch_size: one linear map per patch),
    ``cls_token`` (1, 1, d_model), ``pos`` (learned, n_patches + 1), ``stack`` (pre-LN Encoder, GELU),
    ``head`` Linear(d_model, n_classes) on the final [CLS] vector.
    """

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        c = self.config = config
        if c.image_size % c.patch_size != 0:
            raise ValueError(
                f"image_size must be divisible by patch_size; got image_size={c.image_size}, patch_size={c.patch_size}"
            )
        self.n_patches = (c.image_size // c.patch_size) ** 2
        self.patch_embed = nn.Conv2d(c.in_channels, c.d_model, kernel_size=c.patch_size, stride=c.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.d_model))
        self.pos = LearnedPositionalEmbedding(self.n_patches + 1, c.d_model)
        self.dropout = nn.Dropout(c.dropout)
        self.stack = Encoder(
            c.n_layers,
            c.d_model,
            c.n_heads,
            c.d_ff,
            dropout=c.dropout,
            norm_first=True,
            activation="gelu",
            layer_norm_eps=c.layer_norm_eps,
            final_norm=True,
        )
        self.head = nn.Linear(c.d_model, c.n_classes)

    def forward(self, images: Tensor) -> Tensor:
        c = self.config
        expected = (c.in_channels, c.image_size, c.image_size)
        if images.dim() != 4 or tuple(images.shape[1:]) != expected or images.size(0) == 0:
            raise ValueError(
                f"images must have shape (batch >= 1, {', '.join(map(str, expected))}); got shape {tuple(images.shape)}"
            )
        x = self.patch_embed(images).flatten(2).transpose(1, 2)  # (batch, n_patches, d_model)
        x = torch.cat([self.cls_token.expand(x.size(0), -1, -1), x], dim=1)
        x = self.stack(self.dropout(self.pos(x)))
        return self.head(x[:, 0])
