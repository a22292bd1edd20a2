"""The action model (human graph network + pose-attention GRU): layers, builder, training,
evaluation, the single-step export and dataset loaders."""
