"""The course's learning objectives: what a learner rates, lesson by lesson, on a 1-5 scale."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flowlib.course.self_assessment.places import OBJECTIVES_ENV, objectives_path

SCALE_DEFAULT = {
    "1": "I cannot do this yet",
    "2": "I have seen it",
    "3": "I can do it with notes",
    "4": "I can do it alone",
    "5": "I could teach it",
}


@dataclass(frozen=True)
class Objective:
    """One learning objective: what the learner rates, where it is taught, what evidences it."""

    id: str
    lesson: str
    statement: str
    sections: tuple[str, ...] = ()
    exercises: tuple[str, ...] = ()


@dataclass(frozen=True)
class Objectives:
    """All objectives of the course, in course order, and the 1-5 scale's wording."""

    items: tuple[Objective, ...]
    scale: Mapping[str, str]
    path: Path | None = None
    renamed: Mapping[str, str] = field(default_factory=dict)
    """Old objective id -> its id now (a lesson renumbered keeps the ratings given to it)."""

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def scale_text(self) -> str:
        """The scale in one line: ``1 = ..., 2 = ..., ...``."""
        return ", ".join(f"{k} = {v}" for k, v in sorted(self.scale.items()))

    def by_id(self) -> dict[str, Objective]:
        return {o.id: o for o in self.items}

    def lessons(self) -> list[str]:
        return list(dict.fromkeys(o.lesson for o in self.items))

    def for_lesson(self, lesson: str) -> list[Objective]:
        found = [o for o in self.items if o.lesson == lesson]
        if not found:
            raise ValueError(f"unknown lesson {lesson!r}; expected one of {self.lessons()}")
        return found


def load_objectives(path: Path | str | None = None) -> Objectives:
    """Read the objectives data file (default: :func:`objectives_path`)."""
    source = Path(path) if path is not None else objectives_path()
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"the course objectives file {source} does not exist; set {OBJECTIVES_ENV} to its path"
        ) from None
    except json.JSONDecodeError as error:
        raise ValueError(f"the course objectives file {source} is not valid JSON: {error}") from None
    items = []
    for entry in data.get("objectives", []):
        items.append(
            Objective(
                id=str(entry["id"]),
                lesson=str(entry["lesson"]),
                statement=str(entry["statement"]),
                sections=tuple(str(s) for s in entry.get("sections", []) or []),
                exercises=tuple(str(e) for e in entry.get("exercises", []) or []),
            )
        )
    scale = {str(k): str(v) for k, v in (data.get("scale") or SCALE_DEFAULT).items()}
    renamed = {str(k): str(v) for k, v in (data.get("renamed") or {}).items()}
    return Objectives(items=tuple(items), scale=scale, path=source, renamed=renamed)


def lessons_with_objectives(objectives: Objectives | None = None) -> list[str]:
    """Lesson ids that have objectives, in course order."""
    return (objectives or load_objectives()).lessons()


def objectives_for(lesson: str, objectives: Objectives | None = None) -> list[Objective]:
    """The objectives of one lesson; ``ValueError`` listing the lessons if it is unknown."""
    return (objectives or load_objectives()).for_lesson(lesson)
