"""Workstation tools for developing digit-edge; none of them is needed on a Pi.

- ``python -m devtools.evaluate``: accuracy of the recogniser on synthetic scenes or real images.
- ``python -m devtools.benchmark``: side-by-side speed, size and memory; writes BENCHMARKS.md.
- ``python -m devtools.summary``: the table comparing converted models.
- ``python -m devtools.bundle``: the MNIST test digits bundled with :mod:`edge` for the demo.
"""
