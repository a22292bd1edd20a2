"""Quantise trained Keras models to full-integer int8 TFLite, validate, embed metadata.

Needs TensorFlow (the ``train`` extra). Imports ``pipan``; never imported by it."""
