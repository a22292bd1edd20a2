"""``python -m training``: the workstation commands (synthetic data, training, evaluation).

Subcommand groups live beside the code they drive and are attached here."""
from __future__ import annotations

import click

from pipan.cli import PipanGroup

from .action.cli import group as action_group
from .distill.cli import group as distill_group
from .pose.cli import group as pose_group
from .synth.cli import group as synth_group


#: Subcommand groups whose commands use TensorFlow.
TENSORFLOW_GROUPS = ("action", "pose", "distill")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up lines (oneDNN, CUDA stubs: written to fd 2
    whatever TF_CPP_MIN_LOG_LEVEL says) hidden unless verbose, so a command's stderr holds
    what the command says. Errors of the import itself still surface."""
    import importlib.util
    import os

    from pipan.logs import quiet_native_stderr
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if importlib.util.find_spec("tensorflow") is None:
        return  # the command says what to install when it needs it
    with quiet_native_stderr():
        import tensorflow  # noqa: F401


@click.group(cls=PipanGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True,
              help="Show the native libraries' own messages (TensorFlow, LiteRT, OpenCV).")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """pipan's workstation tools: make data, train and evaluate models."""
    import sys

    from pipan.logs import set_verbose
    set_verbose(verbose)
    asks_help = any(a in ("-h", "--help") for a in sys.argv[1:])
    if ctx.invoked_subcommand in TENSORFLOW_GROUPS and not asks_help:
        import_tensorflow_quietly()


for _group in (synth_group, pose_group, action_group, distill_group):
    cli.add_command(_group)


def main() -> None:
    cli(prog_name="python -m training")
