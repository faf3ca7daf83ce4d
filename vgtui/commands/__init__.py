"""The command line's commands: argparse wiring per command, imported only when it runs."""
