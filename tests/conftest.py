"""Fixtures shared by flowlib's tests."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """Small tensors: one thread beats two threads contending for a busy CPU (10x here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
