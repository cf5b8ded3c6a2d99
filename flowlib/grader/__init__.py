"""The grading engine: what happens to a submission, one module per step of its path.

    collect    find submissions (and import them from an LMS download or nbgrader's exchange)
    sandbox    a fresh, locked-down place for one submission's kernel (bubblewrap, setrlimit)
    execute    run the notebook cell by cell in that kernel, within time and output limits
    verdicts   decide each test cell's points from plain records, in the grader's own process
    gradebook  write the verdicts into nbgrader's gradebook.db (one writer)
    report     the per-submission report: scores, flags, protections that were off

The checks a test cell calls live in :mod:`flowlib.grading` (the learner's side); this
package never runs inside a learner's kernel.
"""
