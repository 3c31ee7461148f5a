"""The GAN family of the course (lectures 05-09), organised by job. Import each name from its module:

- :mod:`coursekit.gan.losses`       the losses on logits (D, G non-saturating/saturating, AC-GAN classifier)
- :mod:`coursekit.gan.trainer`      :class:`~coursekit.gan.trainer.GAN`, a ``keras.Model`` with one optimizer
                                    per network
- :mod:`coursekit.gan.conditional`  conditional GANs: labels into both networks (concatenation, projection, AC-GAN)
- :mod:`coursekit.gan.layers`       small layers for conditioning (one-hot labels, label maps, projection)
- :mod:`coursekit.gan.callbacks`    ``GANMonitor`` (fixed-z grids, TensorBoard) and ``StepTimer``
- :mod:`coursekit.gan.wasserstein`  ``WGANGP``: critic + Wasserstein losses + gradient penalty (lecture 09)
- :mod:`coursekit.gan.packing`      ``PacGAN``: the discriminator judges packs of samples (lecture 09)
- :mod:`coursekit.gan.penalties`    gradient penalty (WGAN-GP) and R1 penalty on the discriminator's input
- :mod:`coursekit.gan.diagnostics`  the rule for "the discriminator has won" (reading the curves, lecture 09)
- :mod:`coursekit.gan.unet`         the pix2pix U-Net generator (skip connections), normalisation layers (lecture 08)
- :mod:`coursekit.gan.patchgan`     the PatchGAN discriminator (a map of patch logits) and its receptive field
- :mod:`coursekit.gan.pix2pix`      ``Pix2Pix``: paired translation, conditional PatchGAN + L1 (and the shared base)
- :mod:`coursekit.gan.cyclegan`     ``CycleGAN``: unpaired translation, LSGAN + cycle + identity losses, ``ImagePool``
- :mod:`coursekit.gan.schedules`    ``LinearDecay``: constant learning rate, then linear to zero (CycleGAN)

Plots of GAN runs (``plot_gan_history``, ``monitor_grids``, ``class_histogram``, ``tile_images``)
live in :mod:`coursekit.plotting`; sample-quality metrics in :mod:`coursekit.metrics`.
"""
