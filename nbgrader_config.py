"""nbgrader configuration of the course (read by nbgrader run from this folder).

solutions/NN_lesson/NN_lesson.ipynb  -- the instructor's source notebooks (full solutions, hidden tests)
notebooks/NN_lesson/NN_lesson.ipynb  -- the student versions, generated from solutions/ (never edit by hand)
One assignment per lesson: the assignment id is the lesson folder's name.
"""

from flowlib.course import layout

c = get_config()  # noqa: F821  (nbgrader provides get_config)

c.CourseDirectory.course_id = layout.COURSE_ID
c.CourseDirectory.source_directory = layout.SOURCE
c.CourseDirectory.release_directory = layout.RELEASED
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# The student version of an answer cell: a stub that fails loudly and says what to do.
c.ClearSolutions.code_stub = {
    "python": '# YOUR CODE HERE\nraise NotImplementedError("Replace this line with your solution.")'
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Every student notebook must still run outside its exercises: tag answer and test cells so
# that nbval lets *those* cells fail (an unanswered exercise), and only those.
c.GenerateAssignment.preprocessors = [
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.InstantiateTests",
    "nbgrader.preprocessors.LockCells",
    "nbgrader.preprocessors.ClearSolutions",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.CheckCellMetadata",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.SaveCells",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.CheckCellMetadata",
    "flowlib.course.release_tags.TagExerciseCells",
]

# A correct answer that prints a warning keeps its points: nbgrader counts any stderr output
# in a test cell as a failure, so autograding drops stderr before grading. A failing test
# still fails: it produces an *error* output, which is kept.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"

# Lessons train small models: allow a slow cell, but not a hung one.
c.Execute.timeout = 300
c.Execute.allow_errors = True
