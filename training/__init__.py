"""Workstation side of pipan: Keras models, synthetic data, training and evaluation.

Imports ``pipan`` (layouts, features, decoding) and TensorFlow; never imported by ``pipan``.
"""
