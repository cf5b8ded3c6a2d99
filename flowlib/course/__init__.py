"""The course machinery: everything around the lessons, nothing a lesson teaches.

The learner's side::

    self_assessment  objectives, the learner's ratings (sliders, append-only log) beside exercise
                     scores, the pictures and ``flowlib self-assess`` (a subpackage, one module a step)
    validation       Validate's and ``flowlib check``'s points per exercise
    lab_validate     the Validate button's server side: nbgrader's Validator, points as JSON
    doctor           is this machine ready for the course?
    update           a new version of the course, without touching the learner's work

The instructor's side::

    layout           where the course folder is, its id, which lessons exist (asked by every module)
    instructor       release, collect, autograde, feedback and grade export
    release_tags     the course's own step of nbgrader's release
    released         what the last release wrote, so no release overwrites a learner's work
    edition          the student edition: what learners get, without the answer key
    grader           the grading engine (a subpackage: one module per step of a submission)
    site             the lessons as a static website (a subpackage: sources, pages, build)
    cli              the ``flowlib`` command
"""
