"""Command line: parse arguments, call one library function, turn CorpusError into a message.

Exit codes: 0 success, 1 data or release problem, 2 usage or config problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from corpus.build import BuildSummary, build
from corpus.errors import CorpusError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Curate scraped Maghreb news into versioned datasets.",
)
err = Console(stderr=True)
out = Console()


@app.callback()
def main() -> None:
    """Curate scraped Maghreb news into versioned datasets."""


@app.command("build")
def build_command(
    config: Annotated[Path, typer.Argument(help="YAML config, e.g. configs/maghreb.yaml")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder that receives <name>/<version>/")] = Path(
        "out"
    ),
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing version with different content")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the release path")] = False,
) -> None:
    """Build a release from a config.

    Example: corpus build configs/maghreb.yaml --out out
    """
    try:
        summary = build(config, out_dir, force=force, progress=None if quiet else _progress)
    except CorpusError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    if quiet:
        print(summary.path)
        return
    _print_summary(summary)


@contextmanager
def _progress(name: str) -> Iterator[None]:
    with err.status(f"{name} ...", spinner="dots"):
        yield


def _print_summary(summary: BuildSummary) -> None:
    table = Table(title="steps", title_justify="left")
    for column in ("step", "rows in", "rows out", "removed", "seconds"):
        table.add_column(column, justify="left" if column in ("step", "removed") else "right")
    for step in summary.result.steps:
        removed = ", ".join(f"{reason} {n}" for reason, n in step.removed.items())
        table.add_row(step.name, str(step.rows_in), str(step.rows_out), removed, f"{step.seconds:.2f}")
    out.print(table)
    languages = ", ".join(f"{s.language} {s.num_examples}" for s in summary.splits)
    out.print(f"released {summary.result.released.height} of {summary.result.rows_read} rows ({languages})")
    out.print(f"release {summary.status}: {summary.path}", highlight=False)
