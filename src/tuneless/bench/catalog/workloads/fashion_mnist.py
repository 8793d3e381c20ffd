"""Fashion-MNIST (Xiao, Rasul, Vollgraf 2017; MIT licence) from the Debian package ``dataset-fashion-mnist``.

Two workloads on the full 60k/10k split: an MLP trained with Adam and a small CNN trained with SGD + momentum.
Metric: accuracy on the 10,000 test images (higher is better). Pixels are scaled to [0, 1] and standardised with
the dataset's mean 0.2860 and standard deviation 0.3530 (computed on the training images). On a GPU the whole set
lives on the device (about 200 MB) and batches are drawn there; bf16 autocast and ``torch.compile`` are on by
default on CUDA (``acceleration.py``).
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path
from typing import Any

import numpy as np

from ..workload import Workload, hash_bytes
from .acceleration import autocast, maybe_compile

__all__ = ["FashionCNN", "FashionMLP", "FASHION_MNIST_DIR"]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"
FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
PIXEL_MEAN, PIXEL_STD = 0.2860, 0.3530


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip): magic 0x0000 0x08 ndim, ndim big-endian uint32 sizes, then uint8 data."""
    raw = gzip.decompress(path.read_bytes())
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


@functools.lru_cache(maxsize=1)
def load_tensors(directory: Path) -> dict[str, Any]:
    """Images as standardised float32 tensors N x 1 x 28 x 28, labels as int64 (trials only read them)."""
    import torch

    data = {}
    for key, name in FILES.items():
        array = read_idx(directory / name)
        if key.startswith("x"):
            images = (torch.from_numpy(array.astype(np.float32)) / 255.0 - PIXEL_MEAN) / PIXEL_STD
            data[key] = images.unsqueeze(1)
        else:
            data[key] = torch.from_numpy(array.astype(np.int64))
    return data


class _FashionMNIST(Workload):
    metric = "test_accuracy"
    higher_is_better = True
    batch_size = 128
    bf16: bool | None = None  # None: on for CUDA (acceleration.py)
    compile: bool | None = None
    test_examples: int | None = None  # evaluate on the first N test images (None: all 10,000; for smoke runs)
    extra_overrides = ("bf16", "compile", "test_examples")

    def unavailable_reason(self) -> str | None:
        missing = [f for f in FILES.values() if not (FASHION_MNIST_DIR / f).is_file()]
        if missing:
            return (
                f"{self.name}: Fashion-MNIST not found in {FASHION_MNIST_DIR}: install the Debian package "
                f"{DEBIAN_PACKAGE} (apt-get install {DEBIAN_PACKAGE})"
            )
        return None

    def prepare(self, seeds: list[int]) -> None:
        """Decode the files once in the driver; the forked trial processes inherit the arrays."""
        load_tensors(FASHION_MNIST_DIR)

    def data_hash(self) -> str:
        return hash_bytes(*((FASHION_MNIST_DIR / FILES[k]).read_bytes() for k in sorted(FILES)))

    def _model(self) -> Any:
        raise NotImplementedError

    def build(self, seed: int, device: Any = "cpu") -> tuple[Any, dict[str, Any]]:
        import torch

        reason = self.unavailable_reason()
        if reason:
            raise ValueError(reason)
        device = torch.device(device)
        data = {key: value.to(device) for key, value in load_tensors(FASHION_MNIST_DIR).items()}
        if self.test_examples is not None:
            data["x_test"], data["y_test"] = data["x_test"][: self.test_examples], data["y_test"][: self.test_examples]
        data["generator"] = torch.Generator(device=device).manual_seed(seed)
        data["device"] = device
        torch.manual_seed(seed)
        model = self._model().to(device)
        return maybe_compile(model, self.compile, device), data

    def train_loss(self, model: Any, data: dict[str, Any], step: int) -> Any:
        import torch

        generator = data["generator"]
        index = torch.randint(len(data["y_train"]), (self.batch_size,), generator=generator, device=generator.device)
        with autocast(self.bf16, data["device"]):
            logits = model(data["x_train"][index])
        return torch.nn.functional.cross_entropy(logits.float(), data["y_train"][index])

    def evaluate(self, model: Any, data: dict[str, Any]) -> dict[str, float]:
        import torch

        correct, loss = 0, 0.0
        for start in range(0, len(data["y_test"]), 2000):
            x, y = data["x_test"][start : start + 2000], data["y_test"][start : start + 2000]
            with autocast(self.bf16, data["device"]):
                logits = model(x).float()
            loss += float(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(dim=1) == y).sum())
        n = len(data["y_test"])
        return {"test_accuracy": correct / n, "test_loss": loss / n}


class FashionMLP(_FashionMNIST):
    """784-256-10 ReLU MLP, Adam."""

    name = "fashion-mlp"
    optimizer = "adam"
    budget_steps = 1500
    eval_every = 100
    peak_lrs = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2)

    def _model(self) -> Any:
        import torch

        return torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)
        )


class FashionCNN(_FashionMNIST):
    """Two 3x3 conv layers (16, 32 channels, ReLU, 2x2 max-pool) and a linear classifier, SGD + momentum 0.9."""

    name = "fashion-cnn"
    optimizer = "sgd(momentum=0.9)"
    budget_steps = 1500
    eval_every = 150
    peak_lrs = (0.01, 0.03, 0.1, 0.3)

    def _model(self) -> Any:
        import torch

        nn = torch.nn
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, 10),
        )
