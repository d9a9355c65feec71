"""`cliftonsites-worker` and `python -m dashboard.worker`: the same as `cliftonsites worker`."""

from __future__ import annotations

import sys

import click

from dashboard.settings import SettingsError


def main() -> None:
    from dashboard.worker.command import worker

    try:
        worker(standalone_mode=True)
    except SettingsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
