"""Run the ``atlas-streams`` command as ``python -m atlas_streams``."""

from atlas_streams.cli import main

main()
