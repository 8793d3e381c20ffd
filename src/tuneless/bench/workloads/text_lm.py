"""Byte-level transformer language models on real text.

Corpora: the CPython standard-library source of the running interpreter (always present; every ``*.py`` file
under ``sysconfig.get_paths()["stdlib"]`` except ``site-packages``, ``test``/``tests`` and ``idlelib``, sorted by
path and concatenated; its hash is recorded with the targets because it changes with the Python version) and the
King James Bible from the Debian package ``bible-kjv`` (``bible -f gen1:1-rev22:21``).

Model: byte embedding + learned positions, ``layers`` pre-norm causal transformer blocks, a linear head over the 256
byte values; trained with AdamW on random windows of the first 90% of the corpus. Metric: bits per byte on a fixed
set of windows from the last 10% (cross-entropy in nats / ln 2; lower is better).
"""

from __future__ import annotations

import functools
import math
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

from ..workload import Workload, hash_bytes

__all__ = ["ByteTransformerLM", "KJVLanguageModel", "StdlibLanguageModel"]

VALIDATION_FRACTION = 0.1


@functools.lru_cache(maxsize=1)
def stdlib_corpus() -> bytes:
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = {"site-packages", "test", "tests", "idlelib"}
    files = sorted(p for p in root.rglob("*.py") if not skip.intersection(p.relative_to(root).parts))
    return b"".join(p.read_bytes() for p in files)


@functools.lru_cache(maxsize=1)
def kjv_corpus() -> bytes:
    return subprocess.run(["bible", "-f", "gen1:1-rev22:21"], check=True, capture_output=True).stdout


class ByteTransformerLM(Workload):
    """A small causal transformer over bytes. Subclasses give ``name`` and ``corpus()``."""

    metric = "val_bits_per_byte"
    higher_is_better = False
    optimizer = "adamw(weight_decay=0.01)"
    budget_steps = 600
    batch_size = 16
    eval_every = 50
    peak_lrs = (1e-3, 3e-3, 1e-2, 3e-2)
    context = 64
    width = 64
    layers = 2
    heads = 4
    validation_windows = 64

    def corpus(self) -> bytes:
        raise NotImplementedError

    def prepare(self, seeds: list[int]) -> None:
        """Read the corpus once in the driver; the forked trial processes inherit it."""
        self.corpus()

    def data_hash(self) -> str:
        return hash_bytes(self.corpus())

    def build(self, seed: int) -> tuple[Any, dict[str, Any]]:
        import torch

        text = torch.frombuffer(bytearray(self.corpus()), dtype=torch.uint8).long()
        split = int(len(text) * (1 - VALIDATION_FRACTION))
        train, valid = text[:split], text[split:]
        # Validation windows: evenly spaced, the same for every seed and method.
        starts = torch.linspace(0, len(valid) - self.context - 2, self.validation_windows).long()
        windows = torch.stack([valid[s : s + self.context + 1] for s in starts])
        data = {"train": train, "valid": windows, "generator": torch.Generator().manual_seed(seed)}
        torch.manual_seed(seed)
        return _ByteTransformer(self.context, self.width, self.layers, self.heads), data

    def train_loss(self, model: Any, data: dict[str, Any], step: int) -> Any:
        import torch

        starts = torch.randint(len(data["train"]) - self.context - 1, (self.batch_size,), generator=data["generator"])
        windows = torch.stack([data["train"][s : s + self.context + 1] for s in starts.tolist()])
        return model.loss(windows)

    def evaluate(self, model: Any, data: dict[str, Any]) -> dict[str, float]:
        nats = float(model.loss(data["valid"]))
        return {"val_bits_per_byte": nats / math.log(2), "val_loss": nats}


def _ByteTransformer(context: int, width: int, layers: int, heads: int) -> Any:
    import torch
    from torch import nn

    class ByteTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(256, width)
            self.position = nn.Parameter(torch.zeros(context, width))
            nn.init.normal_(self.position, std=0.02)
            block = nn.TransformerEncoderLayer(
                width,
                heads,
                dim_feedforward=4 * width,
                dropout=0.0,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(width)
            self.head = nn.Linear(width, 256)
            self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(context), persistent=False)

        def loss(self, windows: torch.Tensor) -> torch.Tensor:
            inputs, targets = windows[:, :-1], windows[:, 1:]
            h = self.embed(inputs) + self.position[: inputs.shape[1]]
            h = self.blocks(h, mask=self.mask, is_causal=True)
            logits = self.head(self.norm(h))
            return nn.functional.cross_entropy(logits.reshape(-1, 256), targets.reshape(-1))

    return ByteTransformer()


class StdlibLanguageModel(ByteTransformerLM):
    name = "lm-stdlib"

    def corpus(self) -> bytes:
        return stdlib_corpus()


class KJVLanguageModel(ByteTransformerLM):
    name = "lm-kjv"

    def unavailable_reason(self) -> str | None:
        if shutil.which("bible") is None:
            return f"{self.name}: the King James Bible is not installed: install the Debian package bible-kjv"
        return None

    def corpus(self) -> bytes:
        return kjv_corpus()
