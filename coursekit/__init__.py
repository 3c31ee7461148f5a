"""coursekit: the helper package of the deep generative models course.

Importing ``coursekit`` is cheap: TensorFlow is only imported by the submodules that need
it (``data``, ``training``, ...), so ``python -m coursekit`` can set up the environment
with nothing but the standard library.

Modules, by concern:

- ``profiles``   how big a run is (smoke / cpu / gpu) and how it is chosen
- ``runtime``    where we run: Colab, GPU, network, library versions
- ``seeding``    one call to seed Python, NumPy, TensorFlow and Keras
- ``runcard``    the first and last cells of every notebook (provenance, wall time, metric)
- ``quiet``      TensorFlow's C++ log noise kept out of a notebook (first cell of every lecture)
- ``progress``   ``EpochLog``: one line every few epochs, the one way lectures report training
- ``data``       offline-first datasets with checksums and clear errors
- ``plotting``   image grids, loss curves, 2-D scatter plots (return figures)
- ``training``   one mechanism to resume an interrupted run or load a finished one
- ``divergences`` log densities, log-sum-exp, KL divergences (lecture 01 onwards)
- ``likelihood`` bits/dim, Bernoulli log-likelihood, importance-sampled NLL (lectures 03-04)
- ``vae``        sampling (reparameterisation) layer, Bernoulli loss, latent grids (lecture 03)
- ``pixelcnn``   masked convolutions A/B (incl. colour masks), PixelCNN blocks, samplers (lecture 04)
- ``gan``        the GAN family, a package by job: ``losses``, ``trainer`` (GAN), ``conditional``
                 (ConditionalGAN), ``layers`` (label conditioning), ``callbacks`` (lectures 05-09)
- ``modelinfo``  a compact, machine-independent description of a Keras model
- ``metrics``    Fréchet distance, Inception Score, precision/recall, class coverage, scorer (05-09)
- ``notebooks``  the notebook pipeline: headers, sync, execution, regression checks
"""

from coursekit.meta import __version__

__all__ = ["__version__"]
