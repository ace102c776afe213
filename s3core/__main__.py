"""Entry point for ``python -m s3core``."""
import sys

from .cli import main

sys.exit(main())
