"""Allow ``python -m digest.cli``."""

from digest.cli import main

main()
