"""Known-wrong answers to the course's exercises, one module per lesson (``lesson_NN.py``).

Each module defines ``CASES: list[WrongAnswer]``. ``tests/test_wrong_answers.py`` swaps each
wrong answer into its solution notebook and checks that exactly the right test cells fail,
with a message that teaches.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WrongAnswer:
    """A classic mistake in answer cell ``answer_id``.

    ``fails``: grade ids of test cells that must lose their points; ``message``: a phrase at
    least one failure message must contain; ``passes``: test cells that must keep theirs.
    """

    answer_id: str
    source: str
    fails: list[str]
    message: str
    passes: list[str] = field(default_factory=list)
