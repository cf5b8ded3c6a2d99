"""The grading engine: what happens to a submission, one module per step of its path.

    collect    find the submissions in submitted/ (imports and lms bring them in from an
               LMS download or nbgrader's exchange)
    screen     rebuild the notebook to run from the course's source; read the learner's code
               for delegation and tampering, without running it
    sandbox    a fresh, locked-down place for one submission's kernel (bubblewrap, setrlimit)
    execute    one sandboxed kernel over Jupyter's protocol: a cell, its status and records
    run        every cell of the plan, with the integrity probe and canary, and restarts
    integrity  the probe and the canary (grader code sent into the kernel)
    verdicts   where each test cell's points are decided, in the grader's own process
    grade      one submission's whole path as one independent job; the solution's reference
    gradebook  the one writer of nbgrader's gradebook.db, and the graded notebook
    report     the per-submission report
    autograde  the coordinator: jobs in threads or on Dask, resume, refusals
    export, summary   the CSV with flag columns, and the tables an instructor reads

The checks a test cell calls live in :mod:`flowlib.grading` and their rules in
:mod:`flowlib.comparisons` (the learner's side); only :mod:`integrity`'s probe and canary
code, as text, is ever sent into a learner's kernel.
"""
