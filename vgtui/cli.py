"""Command line: flags -> RunConfig; picks headless or the dashboard."""


def main(argv: list[str] | None = None) -> int:
    return 0
