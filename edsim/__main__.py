import sys

from edsim.cli import main

sys.exit(main())
