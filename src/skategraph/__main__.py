"""`python -m skategraph` is the `skategraph` command."""

from skategraph.cli import main

main()
