"""Everything a session with a GPU has to check, in one go (device time is scarce: check the script on the CPU at
smoke sizes first, with ``--smoke``).

Steps, each with its output in ``--out`` (default ``$OUT`` or ``out/gpu-check``), and ``summary.txt`` with how long
each took and its exit status:

1. ``environment.json``: GPU name and count, torch, CUDA and Python versions (``tuneless.bench.device``);
2. ``gpu_tests.txt``: the GPU-only tests (``pytest -m gpu``: recorder/ScheduleLR/Mechanic without host sync,
   CUDA Mechanic parity with the CPU, bf16 recording, the benchmark on CUDA);
3. ``recorder_overhead_*.txt``: ``benchmarks/recorder_overhead.py --device cuda`` at its default size and at the
   gpu suite's transformer size with bf16 (goal: at most 1% of the step time);
4. ``gpu.sqlite``, ``report/``, ``tables.md``: ``tuneless bench --suite gpu --device cuda`` (trials sharing the GPU:
   ``--trials-per-device``), stopped after ``--suite-timeout`` seconds if it runs long: what finished is in the store,
   and ``tuneless bench --resume --store DIR/gpu.sqlite --device cuda --out DIR/report`` continues it.

    python benchmarks/gpu_check.py [--out DIR] [--suite-timeout 480] [--trials-per-device 8] [--smoke]

``--smoke``: on the CPU, tiny sizes (a few steps, tiny models, one seed) to check the script itself.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SMOKE_RECORDER = ["--steps", "4", "--repeats", "3", "--flush-every", "4", "--d-model", "32", "--layers", "1"]
SMOKE_RECORDER += ["--heads", "2", "--seq", "16", "--batch", "4"]
SUITE_LM_RECORDER = ["--d-model", "384", "--layers", "6", "--heads", "6", "--seq", "256", "--batch", "16", "--bf16"]


class _SuiteTimeout(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.environ.get("OUT") or "out/gpu-check", help="folder for the results")
    parser.add_argument("--suite-timeout", type=float, default=480.0, help="seconds the gpu suite may run")
    parser.add_argument("--trials-per-device", type=int, default=8, help="gpu suite trials sharing the GPU")
    parser.add_argument("--smoke", action="store_true", help="on the CPU at tiny sizes (checks this script)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = "cpu" if args.smoke else "cuda"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    summary: list[str] = []

    def step(name: str, action) -> int:
        start = time.perf_counter()
        try:
            status = action()
        except Exception as err:  # one failing step must not cost the others their device time
            (out / f"{name}.error.txt").write_text(f"{type(err).__name__}: {err}\n")
            status = 1
        line = f"{name}: exit {status}, {time.perf_counter() - start:.1f} s"
        summary.append(line)
        print(line, flush=True)
        (out / "summary.txt").write_text("\n".join(summary) + "\n")
        return status

    def run(command: list[str], output: str, timeout: float) -> int:
        with open(out / output, "w") as log:
            log.write("$ " + " ".join(command) + "\n")
            log.flush()
            try:
                return subprocess.run(
                    command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout
                ).returncode
            except subprocess.TimeoutExpired:
                log.write(f"\nstopped after {timeout:g} s\n")
                return 124

    def environment() -> int:
        from tuneless.bench.run.device import environment as describe

        (out / "environment.json").write_text(json.dumps(describe(device), indent=1) + "\n")
        return 0

    def gpu_tests() -> int:
        tests = ["tests/torch/test_cuda.py", "tests/bench/test_cuda.py"]
        command = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-rs", "-p", "no:cacheprovider", *tests]
        return run(command, "gpu_tests.txt", 300)

    def recorder_overhead(name: str, options: list[str]) -> int:
        command = [sys.executable, "benchmarks/recorder_overhead.py", "--device", device, *options]
        return run(command, f"recorder_overhead_{name}.txt", 240)

    def gpu_suite() -> int:
        from tuneless.bench.benchmark import run_benchmark, write_outputs
        from tuneless.bench.catalog.suites import GPU_SMOKE_CNN, GPU_SMOKE_LM
        from tuneless.bench.report.tables import markdown_tables
        from tuneless.bench.run.config import BenchConfig

        config = BenchConfig.from_options("gpu", seeds=1 if args.smoke else None)
        if args.smoke:
            for ref in config.workloads:
                config.overrides[ref].update(GPU_SMOKE_CNN if ref == "fashion-cnn" else GPU_SMOKE_LM)
        store_path = out / "gpu.sqlite"
        log = open(out / "gpu_suite.txt", "w")  # noqa: SIM115 (closed below)

        def say(text: str) -> None:
            log.write(text + "\n")
            log.flush()

        def stop(*_: object) -> None:
            raise _SuiteTimeout

        previous = signal.signal(signal.SIGALRM, stop)
        signal.setitimer(signal.ITIMER_REAL, args.suite_timeout)
        status, run_id = 0, None
        try:
            run_id = f"gpu-check-{time.strftime('%Y%m%d-%H%M%S')}"
            run_benchmark(
                store_path,
                config,
                run_id=run_id,
                workers=2 if args.smoke else None,
                progress=False,
                device=device,
                trials_per_device=args.trials_per_device,
                say=say,
            )
        except _SuiteTimeout:
            say(f"stopped after {args.suite_timeout:g} s; continue with: tuneless bench --resume --store {store_path}")
            status = 124
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if status == 0:
            write_outputs(store_path, run_id, out / "report", say)
            (out / "tables.md").write_text(markdown_tables(store_path, run_id))
        log.close()
        return status

    step("environment", environment)
    step("gpu_tests", gpu_tests)
    step("recorder_overhead_default", lambda: recorder_overhead("default", SMOKE_RECORDER if args.smoke else []))
    if not args.smoke:
        step("recorder_overhead_suite_lm", lambda: recorder_overhead("suite_lm", SUITE_LM_RECORDER))
    step("gpu_suite", gpu_suite)
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
