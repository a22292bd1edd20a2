"""The ``pipan`` command. Each command parses, calls one library function, and prints;
pipan's own errors become a one-line message and a non-zero exit here, in one place."""
from __future__ import annotations

import sys

import click

from . import __version__
from .errors import PipanError


class PipanGroup(click.Group):
    """A click group that turns PipanError into ``Error: message`` and its exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PipanError as e:
            click.echo(f"Error: {e}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


@click.group(cls=PipanGroup)
@click.version_option(__version__, prog_name="pipan")
def cli() -> None:
    """pipan: who is doing what, frame by frame, from a video or a camera, on a Raspberry Pi."""


@cli.command("fetch-blazepose")
@click.option("--dest", type=click.Path(file_okay=False), default=None,
              help="Folder for the two files (default: ~/.cache/pipan/blazepose).")
def fetch_blazepose(dest) -> None:
    """Download BlazePose's two model files (from the mediapipe 0.10.18 wheel, with pip;
    mediapipe is not installed) for `--pose blazepose` and teacher labelling."""
    from .blazepose import fetch_models
    det, lmk = fetch_models(dest)
    click.echo(f"{det}\n{lmk}")


def main() -> None:
    cli(prog_name="pipan")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
