"""Allow ``python -m runner`` as an alias of the ``airlock`` command."""

from runner.cli import main

main()
