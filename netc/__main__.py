"""`python -m netc` is the `netc` command."""
from netc.cli import main

main()
