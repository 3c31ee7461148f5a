"""Offline-first datasets. Every loader prints one provenance line and checks what it returns.

- :func:`load_mnist`: MNIST digits, ``(N, 28, 28, 1)`` float32 in ``[0, 1]``.

Planned with their lectures: anime faces (lecture 06: a local folder of the Kaggle Anime
Face Dataset, or a procedural offline stand-in with attribute labels) and two unpaired
image domains (lecture 08: tfds ``cycle_gan/horse2zebra``, or an offline stand-in with known
ground-truth pairs). They will return the same :class:`ImageDataset`.
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
