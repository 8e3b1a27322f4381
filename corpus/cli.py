"""Command line: parse arguments, call one library function, turn CorpusError into a message.

Exit codes: 0 success, 1 data or release problem, 2 usage or config problem.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from corpus.engine.progress import silent
from corpus.errors import CorpusError, redact

# Commands import the library when they run, not here: a build's worker processes start by
# re-importing the main script (multiprocessing's spawn), and the whole library took 2 s of that.
if TYPE_CHECKING:
    from corpus.build import BuildSummary
    from corpus.release.diff import ReleaseDiff

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
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Discard finished work of an interrupted build and start over")
    ] = False,
    keep_work: Annotated[
        bool, typer.Option("--keep-work", help="Keep the work folder after the release is written")
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine", help="local (processes on this machine) or ray (a Ray cluster); default: the config's"
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Processes for per-document steps (default: all cores)"),
    ] = None,
) -> None:
    """Build a release from a config; an interrupted build resumes where it stopped.

    Example: corpus build configs/maghreb.yaml --out out
    """
    from corpus.build import Options, build

    options = Options(force=force, fresh=fresh, keep_work=keep_work, workers=workers, engine=engine)
    with _errors():
        shown = not quiet and err.is_terminal
        summary = build(config, out_dir, options, progress=RichProgress(err) if shown else silent)
    if quiet:
        print(summary.path)
        return
    _print_summary(summary)


@app.command("diff")
def diff_command(
    old: Annotated[Path, typer.Argument(help="Earlier release folder")],
    new: Annotated[Path, typer.Argument(help="Later release folder; its card gets the changelog")],
) -> None:
    """Print documents added, removed and changed per language, and write them into NEW's card.

    OLD and NEW must be versions of one dataset. Two builds of the same version are compared but
    NEW's card is left alone: a version's files never change after it is built.

    Example: corpus diff out/maghreb-news/v0.1.0 out/maghreb-news/v0.2.0
    """
    from corpus.release.diff import diff_releases, write_changelog

    with _errors():
        result = diff_releases(old, new)
        if not result.same_version:
            write_changelog(new, result)
    _print_diff(result)
    if result.same_version:
        out.print(
            f"{new} has the same version as {old}: its card is left as it is", highlight=False, soft_wrap=True
        )


@app.command("verify")
def verify_command(
    release: Annotated[Path, typer.Argument(help="Release folder with a manifest.json")],
) -> None:
    """Re-hash every file of a release against its manifest; exit 1 naming any that differ.

    Example: corpus verify out/maghreb-news/v0.1.0
    """
    from corpus.release.verify import verify_release

    with _errors():
        checked = verify_release(release)
    out.print(
        f"ok: {checked.files} files, {checked.bytes:,} bytes match {release}/manifest.json",
        highlight=False,
        soft_wrap=True,
    )


@app.command("publish")
def publish_command(
    release: Annotated[Path, typer.Argument(help="Release folder with a manifest.json")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="Hub dataset repository, ORG/NAME")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the files, sizes and tag; send nothing")
    ] = False,
    private: Annotated[bool, typer.Option("--private", help="Create the repository as private")] = False,
) -> None:
    """Upload a verified release to a hub dataset repository in one commit, tagged v<version>.

    The token comes from HF_TOKEN or `hf auth login`; it is never printed or written.

    Example: corpus publish out/maghreb-news/v0.1.0 --repo-id my-org/maghreb-news --dry-run
    """
    from corpus.release.publish import format_plan, plan_publish, publish_release

    with _errors():
        if dry_run:
            print(format_plan(plan_publish(release, repo_id)))
            return
        done = publish_release(release, repo_id, hub_api(), private=private)
    action = {"published": "published", "tagged": "tagged", "unchanged": "already published"}[done.status]
    out.print(
        f"{action}: {repo_id} tag {done.tag} (commit {done.commit[:12]}; "
        f"{len(done.uploaded)} files uploaded, {len(done.deleted)} deleted)",
        highlight=False,
        soft_wrap=True,
    )
    out.print(
        f'load it with: load_dataset("{repo_id}", "all", revision="{done.tag}")',
        highlight=False,
        soft_wrap=True,
    )


def hub_api() -> Any:
    """The real hub client; tests replace this function with a recording fake."""
    from huggingface_hub import HfApi

    return HfApi()


@contextmanager
def _errors() -> Iterator[None]:
    """Expected failures become a message on stderr and their exit code, never a traceback; a
    message never shows credentials, whatever a server put into it."""
    try:
        yield
    except CorpusError as exc:
        err.print(f"[bold red]error:[/] {escape(redact(str(exc)))}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


def _print_diff(result: ReleaseDiff) -> None:
    table = Table(title=f"{result.new_version} compared with {result.old_version}", title_justify="left")
    for column in ("language", "added", "removed", "changed", "documents"):
        table.add_column(column, justify="left" if column == "language" else "right")
    for row in [*result.languages, result.total]:
        table.add_row(row.language, str(row.added), str(row.removed), str(row.changed), str(row.documents))
    out.print(table)


class RateColumn(ProgressColumn):
    """Items per second (`docs/s`, `MB/s`) from rich's speed estimate."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("")
        if self.unit == "bytes":
            return Text(f"{speed / 1e6:,.1f} MB/s")
        return Text(f"{speed:,.0f} {self.unit}/s")


class RichProgress:
    """A bar per pass (done of the total, rate, time left) and a spinner per decision, on stderr."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextmanager
    def task(self, label: str, total: int, unit: str) -> Iterator[Callable[[int], None]]:
        if total:
            done = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
            columns: list[Any] = [TextColumn("{task.description}"), BarColumn(), done, RateColumn(unit)]
            columns.append(TimeRemainingColumn())
        else:
            columns = [SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()]
        with Progress(*columns, console=self.console, transient=True) as bar:
            task = bar.add_task(escape(label), total=total or None)
            yield lambda n: bar.advance(task, n)


def _steps_table(summary: BuildSummary) -> Table:
    """Rows in and out of each step, removed by reason, seconds summed over the workers."""
    table = Table(title="steps", title_justify="left")
    for column in ("step", "rows in", "rows out", "removed", "seconds"):
        table.add_column(column, justify="left" if column in ("step", "removed") else "right")
    for step in summary.steps:
        removed = ", ".join(f"{reason} {n}" for reason, n in step.removed.items())
        table.add_row(step.name, str(step.rows_in), str(step.rows_out), removed, f"{step.seconds:.2f}")
    return table


def _stages_table(summary: BuildSummary) -> Table:
    """The wall time of preparing, each pass, each decision and the release."""
    table = Table(title="stages (wall time)", title_justify="left")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for name, seconds in summary.stages:
        table.add_row(name, f"{seconds:.2f}")
    return table


def _print_summary(summary: BuildSummary) -> None:
    from corpus.card import languages, split_names

    out.print(_steps_table(summary))
    out.print(_stages_table(summary))
    per_language = ", ".join(f"{s.language} {s.num_examples}" for s in languages(summary.splits))
    per_split = ", ".join(
        f"{name} {sum(s.num_examples for s in summary.splits if s.name == name)}"
        for name in split_names(summary.splits)
    )
    report = summary.report
    out.print(f"released {report.released} of {summary.rows_read} rows ({per_language})")
    out.print(f"splits: {per_split or 'none'}", highlight=False)
    pieces = ", ".join(f"{kind} {n}" for kind, n, _ in report.furniture())
    out.print(f"furniture removed: {pieces or 'none'}", highlight=False)
    issues = sorted(report.date_issues.items(), key=lambda item: (-item[1], item[0]))
    out.print(f"undated documents: {', '.join(f'{r} {n}' for r, n in issues) or 'none'}", highlight=False)
    legacy = {name: n for name, n in report.encodings.items() if name not in ("utf-8", "parquet")}
    if legacy:
        out.print(
            f"decoded from legacy code pages: {', '.join(f'{k} {n}' for k, n in sorted(legacy.items()))}"
        )
    if summary.unknown_outlets:
        unknown = ", ".join(f"{name} {n}" for name, n in summary.unknown_outlets[:10])
        more = f" and {len(summary.unknown_outlets) - 10} more" if len(summary.unknown_outlets) > 10 else ""
        out.print(f"outlets not in the registry: {escape(unknown)}{more}", highlight=False)
    out.print(f"release {summary.status}: {summary.path}", highlight=False)
