"""Workstation conversion stage: ``python -m convert`` (see ``convert.cli``).

Keras model -> TFLite (int8 by default) with a sidecar JSON and a float-vs-converted parity proof
run through the same interpreter code the Pi uses (:mod:`edge.interpreter`).
"""
