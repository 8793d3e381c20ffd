"""A torchvision that cannot load beside the installed torch: the one cause of timm and transformers failing to
import that the user cannot see from their message.

PyPI's torchvision for Linux is built against PyPI's (CUDA) torch; beside a CPU torch (or any other torch build) its
compiled operators do not register and ``import torchvision`` raises ``RuntimeError: operator torchvision::nms does
not exist``. ``import timm`` then fails (its layers import torchvision), and so does ``from transformers import
Trainer`` (transformers imports an installed torchvision), with a message that does not name torchvision.
docs/integrations.md ("timm, torchvision and a CPU torch") gives the installs that work.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util

__all__ = ["torchvision_problem", "TORCHVISION_FIX"]

TORCHVISION_FIX = (
    "install the torchvision built for this torch (a CPU torch: pip install torchvision --index-url "
    "https://download.pytorch.org/whl/cpu), or pip uninstall torchvision (docs/integrations.md, 'timm, torchvision "
    "and a CPU torch')"
)


def torchvision_problem() -> str | None:
    """One line saying why an installed torchvision cannot load beside this torch; None if it loads or is absent."""
    if importlib.util.find_spec("torchvision") is None:
        return None
    try:
        importlib.import_module("torchvision")
    except Exception as error:  # RuntimeError for unregistered operators; OSError/ImportError for a missing library
        import torch

        try:
            version = importlib.metadata.version("torchvision")
        except importlib.metadata.PackageNotFoundError:
            version = "(unknown version)"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"torchvision {version} cannot load beside torch {torch.__version__} ({reason}): {TORCHVISION_FIX}"
    return None
