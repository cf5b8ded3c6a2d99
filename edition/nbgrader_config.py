"""nbgrader settings of the student edition: the Validate button, nothing of the instructor's.

Validate runs your notebook from the top and, for every exercise whose tests fail, shows one
short message and the points you have so far, exercise by exercise (flowlib.course.validation).
"""

c = get_config()  # noqa: F821  (nbgrader provides get_config)

# Lessons train small models: allow a slow cell, not a hung one.
c.Execute.timeout = 300

try:
    from flowlib.course import layout, validation
except ImportError:  # flowlib is not installed in this environment: plain nbgrader messages
    pass
else:
    c.CourseDirectory.course_id = layout.COURSE_ID
    validation.configure(c)

# An nbgrader exchange, when the course uses one (set by the instructor's
# `flowlib instructor student-edition OUT --exchange DIR`); the Assignment List needs it.
EXCHANGE_ROOT = None
if EXCHANGE_ROOT:
    c.Exchange.root = EXCHANGE_ROOT
