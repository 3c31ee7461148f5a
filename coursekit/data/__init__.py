"""Offline-first datasets. Every loader prints one provenance line and checks what it returns.

This ``__init__`` is the package's public face (the names below are defined in its modules):

- :func:`load_mnist` (``mnist``): MNIST digits, ``(N, 28, 28, 1)`` float32 in ``[0, 1]``;
- :func:`load_anime_faces` (``anime``): the Kaggle Anime Face Dataset from a local folder, or a
  procedural offline stand-in with attribute labels (lectures 06-07);
- :class:`ImageDataset`, :class:`DataError`, the checks and the checksummed download registry.

Lecture-specific helpers stay in their modules (``anime.attribute_labels``, ``mixtures`` for
lecture 09's 2-D Gaussian mixtures).
"""

from coursekit.data.checks import DataError, check_images, check_labels
from coursekit.data.images import ImageDataset
from coursekit.data.mnist import load_mnist
from coursekit.data.registry import fetch, load_registry

__all__ = ["DataError", "ImageDataset", "check_images", "check_labels", "fetch", "load_mnist", "load_registry"]

# Lecture 06: anime faces (Kaggle folder or the procedural, labelled stand-in).
from coursekit.data.anime import ATTRIBUTES as ANIME_ATTRIBUTES  # noqa: E402
from coursekit.data.anime import AnimeFaces, draw_standin_faces, load_anime_faces  # noqa: E402

__all__ += ["ANIME_ATTRIBUTES", "AnimeFaces", "draw_standin_faces", "load_anime_faces"]
