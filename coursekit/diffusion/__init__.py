"""Diffusion models (lecture 11), one module per concern; import each name from its module.

- ``coursekit.diffusion.schedules``: ``NoiseSchedule``, the linear and cosine schedules;
- ``coursekit.diffusion.process``: ``q_sample``, ``q_posterior``, ``predict_x0``, ``exact_eps``;
- ``coursekit.diffusion.sampling``: the compiled DDPM / DDIM ``Sampler`` and classifier-free guidance;
- ``coursekit.diffusion.bound``: the variational bound in nats and bits/dim on 8-bit images;
- ``coursekit.diffusion.networks``: the sinusoidal step embedding, MLP and U-Net noise predictors;
- ``coursekit.diffusion.model``: ``DiffusionModel`` (the simple loss, EMA weights, label dropout).
"""
