"""nbgrader on the hub (learners and instructors alike): the course's exchange, and submissions
that only the instructors' group reads (flowlib.course.hub_exchange)."""

import os

from flowlib.course import layout

c = get_config()  # noqa: F821  (nbgrader provides get_config)
c.CourseDirectory.course_id = layout.COURSE_ID
c.Exchange.root = os.path.join(os.environ["FLOWLIB_HUB_DIR"], "exchange")
c.ExchangeFactory.submit = "flowlib.course.hub_exchange.GroupSubmit"
c.ExchangeFactory.fetch_assignment = "flowlib.course.hub_exchange.FetchReleased"
