"""The pose net: model builder, COCO data and targets, training, evaluation, export."""
