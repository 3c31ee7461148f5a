"""Normalizing flows (lecture 10): invertible layers with their log-dets, 8-bit preprocessing, a flow model.

Modules, by concern (each name has its home there):

- :mod:`coursekit.flows.layers`: ``FlowLayer`` and the bijections (affine coupling with
  alternating / checkerboard / channel masks, rational-quadratic spline coupling, ActNorm, squeeze,
  invertible 1x1 convolution, logit, chain, factor-out);
- :mod:`coursekit.flows.preprocessing`: data checks and uniform dequantization of 8-bit images;
- :mod:`coursekit.flows.model`: ``Flow`` (``log_prob``, ``sample``, ``forward``, ``inverse``,
  ``fit`` with checks) and ``FlowTrainingError``;
- :mod:`coursekit.flows.bits`: nats -> bits/dim;
- :mod:`coursekit.flows.architectures`: ``realnvp_2d``, ``spline_flow_2d`` and ``multiscale_image_flow``.
"""
