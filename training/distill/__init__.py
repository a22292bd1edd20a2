"""Distillation: a pretrained teacher (BlazePose) labels real video for pipan's pose net."""
