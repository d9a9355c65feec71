"""`cliftonsites-worker` and `python -m dashboard.worker`: the same as `cliftonsites worker`,
with the same error lines and exit codes."""

from __future__ import annotations


def main() -> None:
    from dashboard.cli import run
    from dashboard.worker.command import worker

    run(worker)


if __name__ == "__main__":
    main()
