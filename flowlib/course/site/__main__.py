"""``python -m flowlib.course.site``: build the site (see :mod:`flowlib.course.site`)."""

import sys

from flowlib.course.site import main

sys.exit(main())
