"""Workstation training stage: ``python -m train`` (see ``train.cli``).

Imports nothing heavy at package level; TensorFlow is loaded only when a run starts.
"""
