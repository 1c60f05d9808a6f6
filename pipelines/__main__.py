"""`python -m pipelines` is the `cx` command."""

from pipelines.cli import main

main()
