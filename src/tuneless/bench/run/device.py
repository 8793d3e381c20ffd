"""Where trials run: ``--device auto|cpu|cuda[:N]``, the GPU slots of the local executor, and the environment a
run records (device name, torch and CUDA versions).

Device checks use ``torch.cuda.device_count()``, which asks NVML where it can and does not initialise CUDA in the
driver: the local executor forks its trial processes, and a child forked from a process with CUDA initialised
cannot use CUDA (the executor falls back to ``spawn`` if something did initialise it).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["device_slots", "environment", "resolve_device", "synchronize"]

_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def resolve_device(device: str, option: str | None = None) -> str:
    """``"cpu"``, ``"cuda"`` (every GPU) or ``"cuda:N"``; ``"auto"`` is CUDA when a GPU is visible, else the CPU.
    Raises ValueError (one line) for an invalid string or a GPU that is not there, naming ``device=`` (or the
    command-line ``option`` the value came from)."""
    import torch

    what = f"device={device!r}" if option is None else f"{option} {device!r}"

    text = str(device).strip().lower()
    if not _DEVICE.match(text):
        raise ValueError(f"{what}: expected auto, cpu, cuda or cuda:N (N = a GPU index)")
    count = torch.cuda.device_count()  # NVML where it can: no CUDA initialisation here (is_available() would)
    if text == "auto":
        return "cuda" if count else "cpu"
    if text == "cpu":
        return "cpu"
    if count == 0:
        why = "this torch is built without CUDA" if torch.version.cuda is None else "no GPU is visible"
        raise ValueError(f"{what}: CUDA is not available here ({why}; torch {torch.__version__})")
    if ":" in text and int(text.split(":")[1]) >= count:
        raise ValueError(f"{what}: there are {count} GPU(s), indices 0 to {count - 1}")
    return text


def device_slots(device: str, trials_per_device: int, gpu_count: int | None = None) -> list[str] | None:
    """The devices of the local executor's parallel trials: ``None`` on the CPU (``--workers`` decides), else each
    GPU (``"cuda"``: all of them; ``"cuda:N"``: that one) listed ``trials_per_device`` times."""
    if not isinstance(trials_per_device, int) or trials_per_device < 1:
        raise ValueError(f"trials_per_device={trials_per_device!r} must be a positive integer")
    if device == "cpu":
        return None
    if device == "cuda":
        if gpu_count is None:
            import torch

            gpu_count = torch.cuda.device_count()
        gpus = [f"cuda:{i}" for i in range(gpu_count)]
    else:
        gpus = [device]
    return [gpu for _ in range(trials_per_device) for gpu in gpus]


def environment(device: str) -> dict[str, Any]:
    """What a run records about where it ran: the device, its name, torch's and CUDA's versions."""
    import platform

    import torch

    if device == "cpu":
        name = _cpu_name() or platform.processor() or platform.machine()
    else:
        name = _gpu_name(int(device.split(":")[1]) if ":" in device else 0)
    return {
        "device": device,
        "device_name": name,
        "gpu_count": torch.cuda.device_count() if device != "cpu" else 0,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
    }


def synchronize(device: Any) -> None:
    """Wait for the device's queued work (CUDA); nothing on the CPU. The runner calls it only before it reads the
    clock at an evaluation, never per step."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _gpu_name(index: int) -> str:
    """``torch.cuda.get_device_name`` asked in a forked child: it initialises CUDA, which the driver must not (its
    trial processes are forked from it)."""
    import concurrent.futures
    import multiprocessing

    import torch

    if "fork" not in multiprocessing.get_all_start_methods() or torch.cuda.is_initialized():
        return torch.cuda.get_device_name(index)
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(torch.cuda.get_device_name, index).result()


def _cpu_name() -> str | None:
    """The CPU's model name (Linux: ``/proc/cpuinfo``), or None."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
