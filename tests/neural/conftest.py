"""Neural tests need torch; tiny nets run fastest single-threaded."""

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
