"""One torch thread per test process: the frameworks' tiny models run faster so on a shared 2-core machine
(``make test`` runs two workers)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
