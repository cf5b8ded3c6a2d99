"""The grading engine: what happens to a submission, one module per step of its path.

    intake     bring submissions into submitted/ (`flowlib instructor collect`): from an LMS
               download (lms reads its names) or nbgrader's exchange (owned: whose files)
    storing    keep them in submitted/ under the id the course knows, never overwriting one silently
    submitted  find the submissions in submitted/: what is graded, what is refused and why
    ids        who and when: a learner's id and a submission's time, as nbgrader spells them
    roster     learners' names (any script) and LMS ids beside their ids: roster.csv
    screen     rebuild the notebook to run from the course's source, flag what the learner changed
    learner_code   read the learner's code for delegation and tampering, without running it
    sandbox    a fresh, locked-down place for one submission's kernel (bubblewrap, setrlimit)
    execute    one sandboxed kernel over Jupyter's protocol: a cell, its status, the agent's answers
    slicing    cut the plan to the cells the grades depend on (a full run where that is in doubt)
    run        every cell of the plan: the learner's and the course's in the kernel, each test
               cell in the grader's process, the integrity probe, restarts
    testcell   one test cell run in the grader's process, the learner's names fetched as data
    remote     the grader's end of the channel: requests out, plain data parsed back
    agent      the kernel's end (its text is sent into the kernel; never imported)
    integrity  the probe (grader code sent into the kernel): flags for a person
    verdicts   where each test cell's points are decided, in the grader's own process
    grade      one submission's whole path as one independent job; the solution's reference
    gradebook  the one writer of nbgrader's gradebook.db, and the graded notebook
    report     the per-submission report
    autograde  the coordinator: jobs in threads or on Dask, resume, refusals
    fingerprint, twins, similarity, similarity_report   whose work is it: answers compared with
               each other and with flowlib's twins, as flags for a person and their HTML report
    export, summary   the CSV with flag columns, and the tables an instructor reads
    surface    what the learner typed, made safe before a person opens it (CSV, HTML)

The checks a test cell calls live in :mod:`flowlib.grading` and their rules in
:mod:`flowlib.comparisons` (the learner's side); only :mod:`agent`'s and :mod:`integrity`'s
code, as text, is ever sent into a learner's kernel.
"""
