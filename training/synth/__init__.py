"""Synthetic people: skeleton motion for the action model, rendered frames for the pose net,
and videos with ground truth for end-to-end tests (``python -m training synth ...``).

Modules: ``body`` (3D stick body, forward kinematics), ``actions`` (one program per action),
``camera`` (random camera, projection), ``motions`` (clips, datasets, sequences, scenes),
``render`` (drawing people on backgrounds), ``coco`` (COCO keypoint folders), ``video``
(videos with a ground-truth sidecar), ``truth`` (the pipeline's output on such a video
scored against its sidecar), ``sheet`` (contact sheet), ``cli``.
"""
