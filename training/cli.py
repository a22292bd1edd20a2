"""``python -m training``: the workstation commands (synthetic data, training, evaluation).

Subcommand groups live beside the code they drive and are attached here."""
from __future__ import annotations

import click

from pipan.cli import PipanGroup


@click.group(cls=PipanGroup)
def cli() -> None:
    """pipan's workstation tools: make data, train and evaluate models."""


def _attach() -> None:
    # Each group module defines `group`; imported lazily-by-name so one broken or
    # not-yet-written part does not take the others down.
    import importlib
    for module in ("training.synth.cli", "training.pose.cli", "training.action.cli",
                   "training.distill.cli"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name and module.startswith(e.name):
                continue  # that part does not exist (yet)
            raise
        cli.add_command(mod.group)


_attach()


def main() -> None:
    cli(prog_name="python -m training")
