"""docs/bench.md shows the user-workload example exactly as docs/examples/my_workload.py (which the runner tests
run through the command line), so the documented example is the tested one."""

from __future__ import annotations

import re

from .conftest import EXAMPLE, ROOT


def test_bench_docs_show_the_tested_example():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "bench.md").read_text(), flags=re.S)
    source = EXAMPLE.read_text()
    code = source.split('"""', 2)[2].strip() + "\n"  # the file without its docstring
    assert code in blocks
    assert 25 <= len(code.strip().splitlines()) <= 45  # "about 30 lines"
