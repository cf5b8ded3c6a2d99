"""The doctor's checks of the machine: enough cores, torch using them, a GPU that works if there
is one, room in memory and on disk to train the lessons' models and save notebooks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from flowlib.course.doctor.check import Check, course_folder

MIN_CORES = 2  # the lessons' budgets (a minute each) are measured on 2 cores

MIN_FREE_MEMORY_GB = 2.0  # the largest lesson peaks near 1.5 GB

MIN_FREE_DISK_GB = 1.0  # notebooks with outputs, ratings, pip's cache for a reinstall


def _cores(cores: int | None = None) -> Check:
    cores = (os.cpu_count() or 1) if cores is None else cores
    ok = cores >= MIN_CORES
    return Check(
        "cpu cores",
        ok,
        str(cores),
        ""
        if ok
        else f"the lessons are timed on {MIN_CORES} cores; with {cores} each one runs about {MIN_CORES}x slower (give this machine or VM more cores)",
    )


def _threads(threads: int | None = None, cores: int | None = None) -> Check:
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    cores = (os.cpu_count() or 1) if cores is None else cores
    ok = threads >= min(cores, MIN_CORES)
    fix = (
        ""
        if ok
        else f"torch uses {threads} thread(s) of {cores} cores: unset OMP_NUM_THREADS (or set it to {cores}), or call torch.set_num_threads({cores})"
    )
    return Check("torch threads", ok, str(threads), fix)


def _gpu() -> Check:
    """No GPU is fine (every lesson fits a CPU); a GPU that torch sees but cannot use is not."""
    import torch

    if not torch.cuda.is_available():
        return Check("gpu", True, "none (CPU only: fine, every lesson fits a laptop CPU)")
    try:
        name = torch.cuda.get_device_name(0)
        (torch.ones(2, device="cuda") * 2).sum().item()
    except Exception as error:  # a broken driver or a busy/locked device
        return Check(
            "gpu",
            False,
            f"CUDA is present but unusable ({type(error).__name__}: {error})",
            "fix the NVIDIA driver, or hide the GPU (export CUDA_VISIBLE_DEVICES=) so the course runs on the CPU",
        )
    return Check("gpu", True, name)


def _free_memory_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _memory(available: int | None = None) -> Check:
    available = _free_memory_bytes() if available is None else available
    if available is None:
        return Check("free memory", False, "unknown", "could not read free memory; install psutil (`make install`)")
    gb = available / 2**30
    ok = gb >= MIN_FREE_MEMORY_GB
    return Check(
        "free memory",
        ok,
        f"{gb:.1f} GB",
        ""
        if ok
        else f"the lessons need about {MIN_FREE_MEMORY_GB:.0f} GB free: close other programs or notebooks (Kernel > Shut Down Kernel)",
    )


def _disk(folder: Path | None = None, free: int | None = None) -> Check:
    folder = course_folder() if folder is None else folder
    free = shutil.disk_usage(folder).free if free is None else free
    gb = free / 2**30
    ok = gb >= MIN_FREE_DISK_GB
    return Check(
        "free disk",
        ok,
        f"{gb:.1f} GB in {folder}",
        "" if ok else f"free at least {MIN_FREE_DISK_GB:.0f} GB on this disk (pip's cache: `pip cache purge`)",
    )
