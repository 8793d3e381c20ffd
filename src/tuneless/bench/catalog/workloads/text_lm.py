"""Byte-level transformer language models on real text.

Corpora: the CPython standard-library source of the running interpreter (always present; every ``*.py`` file
under ``sysconfig.get_paths()["stdlib"]`` except ``site-packages``, ``test``/``tests`` and ``idlelib``, sorted by
path and concatenated; its hash is recorded with the targets because it changes with the Python version) and the
King James Bible from the Debian package ``bible-kjv`` (``bible -f gen1:1-rev22:21``).

Model: byte embedding + learned positions, ``layers`` pre-norm causal transformer blocks, a linear head over the 256
byte values; trained with AdamW on random windows of the first 90% of the corpus. Metric: bits per byte on a fixed
set of windows from the last 10% (cross-entropy in nats / ln 2; lower is better). On a GPU the corpus lives on the
device and windows are gathered there; bf16 autocast and ``torch.compile`` are on by default on CUDA
(``acceleration.py``). A suite may override the model's size (``context``, ``width``, ``layers``, ``heads``).
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
from .acceleration import autocast, maybe_compile

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
    bf16: bool | None = None  # None: on for CUDA (acceleration.py)
    compile: bool | None = None
    extra_overrides = ("context", "width", "layers", "heads", "validation_windows", "bf16", "compile")

    def corpus(self) -> bytes:
        raise NotImplementedError

    def prepare(self, seeds: list[int]) -> None:
        """Read the corpus once in the driver; the forked trial processes inherit it."""
        self.corpus()

    def data_hash(self) -> str:
        return hash_bytes(self.corpus())

    def build(self, seed: int, device: Any = "cpu") -> tuple[Any, dict[str, Any]]:
        import torch

        device = torch.device(device)
        text = torch.frombuffer(bytearray(self.corpus()), dtype=torch.uint8)  # bytes; windows become int64
        split = int(len(text) * (1 - VALIDATION_FRACTION))
        train, valid = text[:split], text[split:]
        # Validation windows: evenly spaced, the same for every seed and method.
        starts = torch.linspace(0, len(valid) - self.context - 2, self.validation_windows).long()
        windows = torch.stack([valid[s : s + self.context + 1] for s in starts]).long()
        data = {
            "train": train.to(device),
            "valid": windows.to(device),
            "generator": torch.Generator(device=device).manual_seed(seed),
            "offsets": torch.arange(self.context + 1, device=device),
            "device": device,
        }
        torch.manual_seed(seed)
        model = _ByteTransformer(self.context, self.width, self.layers, self.heads).to(device)
        return maybe_compile(model, self.compile, device), data

    def train_loss(self, model: Any, data: dict[str, Any], step: int) -> Any:
        import torch

        generator = data["generator"]
        high = len(data["train"]) - self.context - 1
        starts = torch.randint(high, (self.batch_size,), generator=generator, device=generator.device)
        windows = data["train"][starts[:, None] + data["offsets"]].long()  # gathered on the device
        with autocast(self.bf16, data["device"]):
            return model(windows)

    def evaluate(self, model: Any, data: dict[str, Any]) -> dict[str, float]:
        with autocast(self.bf16, data["device"]):
            nats = float(model(data["valid"]))
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

        def forward(self, windows: torch.Tensor) -> torch.Tensor:
            """The mean next-byte cross-entropy (nats) of a batch of windows (float32 under autocast)."""
            inputs, targets = windows[:, :-1], windows[:, 1:]
            h = self.embed(inputs) + self.position[: inputs.shape[1]]
            h = self.blocks(h, mask=self.mask, is_causal=True)
            logits = self.head(self.norm(h))
            return nn.functional.cross_entropy(logits.reshape(-1, 256).float(), targets.reshape(-1))

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
