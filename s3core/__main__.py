"""Entry point for ``python -m s3core``."""

import os
import sys

from .cli import main
from .compiled import ENVIRONMENT_ERROR

if ENVIRONMENT_ERROR:
    print(f"error: {ENVIRONMENT_ERROR}", file=sys.stderr)
    sys.exit(2)
try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:  # the reader stopped early (``report ... | head``): not an error of ours
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 0
sys.exit(code)
