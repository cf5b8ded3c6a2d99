"""``python -m flowlib.site``: build the site (see :mod:`flowlib.site`)."""

import sys

from flowlib.site import main

sys.exit(main())
