"""bf16 autocast and ``torch.compile`` for the built-in workloads: on by default on CUDA, off on the CPU.

A workload's ``bf16`` and ``compile`` attributes are ``None`` (the device decides: on for CUDA, as users train
there), ``True`` or ``False``; a suite overrides them like any other attribute. bf16 autocast runs the matmuls and
convolutions in bfloat16 with float32 weights and a float32 loss (``torch.autocast``); the optimizer and the
gradient-norm recorder see float32 gradients.
"""

from __future__ import annotations

from typing import Any

__all__ = ["autocast", "maybe_compile", "uses"]


def uses(option: bool | None, device: Any) -> bool:
    """Whether an option that is ``None`` (= on for CUDA), ``True`` or ``False`` is on for ``device``."""
    import torch

    if option is None:
        return torch.device(device).type == "cuda"
    if not isinstance(option, bool):
        raise ValueError(f"bf16/compile option {option!r}: must be True, False or None (on for CUDA only)")
    return option


def autocast(bf16: bool | None, device: Any) -> Any:
    """A ``torch.autocast`` context in bfloat16 for ``device`` when ``uses(bf16, device)``, else a no-op one."""
    import torch

    device = torch.device(device)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=uses(bf16, device))


def maybe_compile(model: Any, compile_option: bool | None, device: Any) -> Any:
    """``torch.compile(model)`` (static shapes) when ``uses(compile_option, device)``, else the model."""
    import torch

    return torch.compile(model, dynamic=False) if uses(compile_option, device) else model
