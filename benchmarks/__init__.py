"""Scripts that measure pipan's speed and accuracy and print figures.

Run each from the repository root as ``python -m benchmarks.NAME [--help]``; their shared
paths and timing helpers are in :mod:`benchmarks.common`.
"""
