"""Sample-quality metrics for implicit models (GANs, lectures 05-09), computed with a small classifier.

A GAN has no likelihood to report, so we compare *sets* of images through the eyes of a
classifier trained on the lecture's real data (the role Inception-v3 plays for FID and IS on
natural images; our numbers are therefore only comparable within this course, with the same scorer):

- :func:`frechet_distance`: Frechet distance between Gaussians fitted to two feature sets (the
  formula of FID, Heusel et al. 2017): ``|mu_a - mu_b|^2 + Tr(C_a + C_b - 2 (C_a C_b)^{1/2})``;
  lower is better, 0 for identical statistics;
- :func:`inception_score`: ``exp(E_x KL(p(y|x) || p(y)))`` (Salimans et al. 2016) on the
  classifier's probabilities; between 1 and the number of classes, higher is better;
- :func:`precision_recall`: improved precision and recall (Kynkaanniemi et al. 2019): the fraction
  of generated samples inside the real data's k-NN manifold (quality) and of real samples inside
  the generated one (coverage/diversity);
- :func:`class_histogram` / :func:`classes_covered`: which classes the generator produces
  (mode collapse shows up here first);
- :func:`build_feature_classifier`, :class:`Scorer`, :func:`train_scorer`: the classifier, and all
  metrics in one call.

The reference every generated-sample score is read against is the **real-data floor**:
``scorer.score(dataset.x_train[:n], dataset.x_test[:n])``, real images against other real images,
with the same ``n`` (the metrics depend on the sample size).
"""

from __future__ import annotations

from typing import Optional

import numpy as np


def _as_features(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype="float64")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N samples, D features), got shape {arr.shape}")
    if len(arr) < 2:
        raise ValueError(f"{name} needs at least 2 samples, got {len(arr)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf values")
    return arr


# ----------------------------------------------------------------------------------------------
# The metrics on features / probabilities
# ----------------------------------------------------------------------------------------------
def _sqrtm(m: np.ndarray):
    """``scipy.linalg.sqrtm(m)``, or None when it is not accurate (singular ``m``)."""
    import warnings

    import scipy.linalg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on singular input; we check the result instead
        root = scipy.linalg.sqrtm(m)
    if not np.all(np.isfinite(root)):
        return None
    scale = max(np.linalg.norm(m), 1e-300)
    if np.linalg.norm(root @ root - m) > 1e-4 * scale:
        return None
    return root


def frechet_distance(feats_a, feats_b, eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (the FID formula).

    ``d^2 = |mu_a - mu_b|^2 + Tr(C_a + C_b - 2 (C_a C_b)^{1/2})`` with sample means ``mu`` and
    covariances ``C`` (``np.cov``, ddof=1); the matrix square root is ``scipy.linalg.sqrtm``.

    Args:
        feats_a, feats_b: ``(N, D)`` and ``(M, D)`` features. Use thousands of samples for D = 64:
            the estimate is biased upwards for small N.
        eps: added to the diagonals if the product of covariances is singular.

    Returns:
        the squared Frechet distance (float >= 0, in squared feature units), as FID reports it.
    """
    a, b = _as_features(feats_a, "feats_a"), _as_features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must have the same dimension, got {a.shape[1]} and {b.shape[1]}")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    covmean = _sqrtm(cov_a @ cov_b)
    if covmean is None:  # singular product (e.g. dead ReLU features): regularise, as pytorch-fid does
        offset = np.eye(len(cov_a)) * eps
        covmean = _sqrtm((cov_a + offset) @ (cov_b + offset))
        if covmean is None:
            raise ValueError("the matrix square root of the covariance product failed even after regularisation; "
                             "check the features (constant or duplicated columns?)")
    if np.iscomplexobj(covmean):
        # rounding can leave tiny imaginary parts; large ones mean the result cannot be trusted
        if np.max(np.abs(covmean.imag)) > 1e-3 * max(1.0, np.max(np.abs(covmean.real))):
            raise ValueError(f"sqrtm of the covariance product has a large imaginary part "
                             f"({np.max(np.abs(covmean.imag)):.3g}); use more samples than feature dimensions")
        covmean = covmean.real
    diff = mu_a - mu_b
    value = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


def _check_probs(probs) -> np.ndarray:
    p = np.asarray(probs, dtype="float64")
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probs must be (N, num_classes) class probabilities, got shape {p.shape}")
    if np.any(p < -1e-6) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("probs must be non-negative rows that sum to 1 (softmax outputs), got row sums in "
                         f"[{p.sum(axis=1).min():.3g}, {p.sum(axis=1).max():.3g}]; apply a softmax to logits first")
    return np.clip(p, 0.0, 1.0)


def inception_score(probs) -> float:
    """``exp( E_x KL(p(y|x) || p(y)) )`` from class probabilities ``(N, C)``; ``p(y)`` = their mean.

    High when each sample is classified confidently (low entropy of ``p(y|x)``) *and* the classes
    are used evenly (high entropy of ``p(y)``). Range ``[1, C]``: ``C`` for confident predictions
    spread evenly over ``C`` classes, 1 when every sample gets the same distribution (e.g. a
    generator that only draws one class).
    """
    p = _check_probs(probs)
    p_y = p.mean(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(p_y)), 0.0).sum(axis=1)
    return float(np.exp(kl.mean()))


def precision_recall(real_feats, fake_feats, k: int = 3, chunk: int = 1024) -> tuple:
    """Improved precision and recall of Kynkaanniemi et al. (2019) on features.

    Each set's manifold is the union of balls around its points, the radius of each ball being
    the distance to that point's ``k``-th nearest neighbour in the same set
    (``sklearn.neighbors.NearestNeighbors``). Precision = fraction of fake samples inside the real
    manifold (are the samples realistic?); recall = fraction of real samples inside the fake
    manifold (does the generator cover the data?).

    Args:
        real_feats, fake_feats: ``(N, D)`` and ``(M, D)``; use the same N and M when comparing runs.
        k: neighbourhood size (3 in the paper).
        chunk: rows of the distance matrix computed at once (memory).

    Returns:
        ``(precision, recall)``, both fractions in ``[0, 1]``.
    """
    real, fake = _as_features(real_feats, "real_feats"), _as_features(fake_feats, "fake_feats")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sets must have the same dimension, got {real.shape[1]} and {fake.shape[1]}")
    if not 1 <= int(k) < min(len(real), len(fake)):
        raise ValueError(f"k must be in [1, {min(len(real), len(fake)) - 1}] for sets of {len(real)} and {len(fake)} "
                         f"samples, got {k}")
    return _manifold_fraction(real, fake, k, chunk), _manifold_fraction(fake, real, k, chunk)


def _manifold_fraction(support: np.ndarray, queries: np.ndarray, k: int, chunk: int) -> float:
    """Fraction of ``queries`` that fall in at least one k-NN ball of ``support``."""
    from sklearn.metrics import pairwise_distances
    from sklearn.neighbors import NearestNeighbors

    # k + 1 neighbours: the nearest one of each support point is the point itself
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(support).kneighbors(support)
    radii = dist[:, k]
    inside = np.zeros(len(queries), dtype=bool)
    for i in range(0, len(queries), chunk):
        d = pairwise_distances(queries[i:i + chunk], support)
        inside[i:i + chunk] = np.any(d <= radii[None, :] * (1 + 1e-9) + 1e-12, axis=1)
    return float(inside.mean())


def class_histogram(pred_labels, num_classes: int) -> np.ndarray:
    """Counts of each predicted class, ``(num_classes,)`` int64."""
    labels = np.asarray(pred_labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"pred_labels must be a 1-D integer array, got shape {labels.shape} dtype {labels.dtype}; "
                         "use probs.argmax(axis=1)")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"pred_labels must be in [0, {num_classes}), got values in [{labels.min()}, {labels.max()}]")
    return np.bincount(labels, minlength=int(num_classes)).astype("int64")


def classes_covered(counts, min_fraction: Optional[float] = None) -> int:
    """Number of classes that receive at least ``min_fraction`` of the samples.

    ``min_fraction=None`` uses half the uniform share, ``1 / (2 C)`` (5 % for 10 classes): a class
    that gets only a few stray samples (classifier mistakes) does not count as produced.
    """
    c = np.asarray(counts, dtype="float64")
    if c.ndim != 1 or c.size == 0 or np.any(c < 0) or c.sum() <= 0:
        raise ValueError(f"counts must be a non-empty 1-D array of non-negative counts with a positive sum, got {c}")
    threshold = 0.5 / len(c) if min_fraction is None else float(min_fraction)
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"min_fraction must be in (0, 1], got {min_fraction}")
    return int(np.sum(c / c.sum() >= threshold))


# ----------------------------------------------------------------------------------------------
# The classifier that provides features and probabilities
# ----------------------------------------------------------------------------------------------
def build_feature_classifier(input_shape, num_classes: int, feature_dim: int = 64, name: str = "scorer"):
    """A small CNN classifier whose penultimate layer, named ``"features"``, gives the metric features.

    Conv(32)-pool blocks halve the image until it is at most 7 pixels wide (2 blocks for 28x28,
    3 for 64x64), then ``Dense(feature_dim, relu, name="features")`` and a softmax over
    ``num_classes`` (output: probabilities ``(B, num_classes)``). Inputs: images in ``[0, 1]``.
    """
    import keras

    h, w, c = (int(s) for s in input_shape)
    inputs = keras.Input((h, w, c), name="images")
    x = inputs
    filters, size = 32, max(h, w)
    while True:
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
        size //= 2
        filters = min(filters * 2, 128)
        if size <= 7:
            break
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.3)(x)
    features = keras.layers.Dense(int(feature_dim), activation="relu", name="features")(x)
    probs = keras.layers.Dense(int(num_classes), activation="softmax", name="probs")(features)
    return keras.Model(inputs, probs, name=name)


class Scorer:
    """All sample-quality metrics through one trained classifier (see :func:`build_feature_classifier`).

    Images are ``(N, H, W, C)`` in ``[0, 1]``; convert generator outputs with
    ``coursekit.data.transforms.from_tanh_range`` first.
    """

    def __init__(self, classifier, batch_size: int = 256):
        import keras

        try:
            feature_layer = classifier.get_layer("features")
        except ValueError as err:
            raise ValueError("the classifier needs a layer named 'features' (build it with "
                             "coursekit.metrics.build_feature_classifier)") from err
        self.classifier = classifier
        self.num_classes = int(classifier.output.shape[-1])
        self.image_shape = tuple(int(s) for s in classifier.input.shape[1:])
        self._both = keras.Model(classifier.input, [feature_layer.output, classifier.output])
        self.batch_size = int(batch_size)

    def _check(self, x) -> np.ndarray:
        arr = np.asarray(x, dtype="float32")
        if arr.ndim != 4 or tuple(arr.shape[1:]) != self.image_shape:
            raise ValueError(f"images must have shape (N, {', '.join(map(str, self.image_shape))}), got {arr.shape}")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < -1e-4 or hi > 1.0001:
            hint = ("; these look like generator outputs in [-1, 1]: apply coursekit.data.transforms.from_tanh_range"
                    if lo >= -1.0001 and hi <= 1.0001 else "")
            raise ValueError(f"images must be in [0, 1], got min={lo:.3g} max={hi:.3g}{hint}")
        return arr

    def features_and_probs(self, x):
        """``(features (N, feature_dim), probs (N, num_classes))`` in one pass."""
        arr = self._check(x)
        # Plain eager calls, batch by batch: ``predict`` would trace a compiled function for every
        # new model (and every new remainder size), and TensorFlow warns about "retracing" when a
        # lecture scores many sets with several classifiers. Inference of this small CNN is cheap.
        feats, probs = [], []
        for start in range(0, len(arr), self.batch_size):
            f, p = self._both(arr[start:start + self.batch_size], training=False)
            feats.append(np.asarray(f))
            probs.append(np.asarray(p))
        return np.concatenate(feats).astype("float64"), np.concatenate(probs).astype("float64")

    def features(self, x) -> np.ndarray:
        """Penultimate-layer features ``(N, feature_dim)``."""
        return self.features_and_probs(x)[0]

    def probs(self, x) -> np.ndarray:
        """Class probabilities ``(N, num_classes)``."""
        return self.features_and_probs(x)[1]

    def score(self, real, fake, k: int = 3) -> dict:
        """All metrics of ``fake`` against ``real`` (both images in ``[0, 1]``).

        Returns:
            ``{"frechet", "inception_score", "precision", "recall"}`` (floats; the inception
            score is that of ``fake``), ``"histogram"`` (``(num_classes,)`` counts of ``fake``'s
            predicted classes) and ``"classes_covered"`` (int, see :func:`classes_covered`).
        """
        real_feats, _ = self.features_and_probs(real)
        fake_feats, fake_probs = self.features_and_probs(fake)
        precision, recall = precision_recall(real_feats, fake_feats, k=k)
        hist = class_histogram(fake_probs.argmax(axis=1), self.num_classes)
        return {
            "frechet": frechet_distance(real_feats, fake_feats),
            "inception_score": inception_score(fake_probs),
            "precision": precision,
            "recall": recall,
            "histogram": hist,
            "classes_covered": classes_covered(hist),
        }


def train_scorer(dataset, *, run_name: str, epochs: int, batch_size: int = 128, feature_dim: int = 64,
                 verbose: int = 0, retrain: bool = False):
    """Train (or load) the scorer's classifier on ``dataset.x_train / y_train`` via ``fit_or_load``.

    Args:
        dataset: a :class:`coursekit.data.ImageDataset` (images in ``[0, 1]``).
        run_name: e.g. ``f"05_mnist_scorer-{profile.name}"``.
        epochs: training epochs.

    Returns:
        ``(Scorer, test_accuracy)``: accuracy on ``dataset.x_test`` (a fraction), the check that the
        features mean something.
    """
    import keras

    from coursekit.training import fit_or_load

    model = build_feature_classifier(dataset.image_shape, dataset.num_classes, feature_dim=feature_dim)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    fit_or_load(model, dataset.x_train, y=dataset.y_train, run_name=run_name, epochs=epochs, batch_size=batch_size,
                verbose=verbose, retrain=retrain)
    scorer = Scorer(model)
    accuracy = float(np.mean(scorer.probs(dataset.x_test).argmax(axis=1) == dataset.y_test))
    return scorer, accuracy


# ----------------------------------------------------------------------------------------------
# Conditional generation (lecture 07)
# ----------------------------------------------------------------------------------------------
def condition_alignment(predicted, requested, num_classes: int) -> dict:
    """How often an independent classifier assigns a generated image to the class it was asked for.

    Args:
        predicted: ``(N,)`` classes an independently trained classifier gives the samples
            (not the discriminator: it was trained together with the generator).
        requested: ``(N,)`` classes the samples were generated for.
        num_classes: ``K``.

    Returns:
        ``{"overall": fraction in [0, 1], "per_class": (K,) fractions (NaN for a class never
        requested), "confusion": (K, K) counts, rows = requested, columns = predicted}``.
        Read it beside the classifier's own accuracy on held-out *real* images: a perfect
        conditional generator reaches that ceiling, not 1.
    """
    pred, req = np.asarray(predicted), np.asarray(requested)
    if pred.shape != req.shape or pred.ndim != 1 or pred.size == 0:
        raise ValueError(f"predicted and requested must be 1-D arrays of the same length, got shapes "
                         f"{pred.shape} and {req.shape}")
    for name, arr in (("predicted", pred), ("requested", req)):
        if not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() >= num_classes:
            raise ValueError(f"{name} must hold integer classes in [0, {num_classes}), got dtype {arr.dtype} and "
                             f"values in [{arr.min()}, {arr.max()}]")
    confusion = np.zeros((num_classes, num_classes), "int64")
    np.add.at(confusion, (req, pred), 1)
    asked = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(asked > 0, np.diag(confusion) / np.maximum(asked, 1), np.nan)
    return {"overall": float(np.mean(pred == req)), "per_class": per_class, "confusion": confusion}


def per_class_scores(real_feats, real_labels, fake_feats, fake_labels, num_classes: int, k: int = 3) -> dict:
    """Fréchet distance, precision and recall computed *within* each class.

    Alignment alone can be gamed by drawing one good image per class; these numbers show whether
    each class keeps its variety. Compare them with the same call on two real sets (the floor).

    Args:
        real_feats, fake_feats: ``(N, D)`` / ``(M, D)`` features (e.g. ``Scorer.features``).
        real_labels, fake_labels: ``(N,)`` / ``(M,)`` classes (the real labels; the *requested*
            classes of the samples).
        num_classes: ``K``; every class needs at least ``k + 1`` images on both sides.

    Returns:
        ``{"frechet": (K,), "precision": (K,), "recall": (K,)}`` float arrays.
    """
    real_feats, fake_feats = _as_features(real_feats, "real_feats"), _as_features(fake_feats, "fake_feats")
    real_labels, fake_labels = np.asarray(real_labels), np.asarray(fake_labels)
    if real_labels.shape != (len(real_feats),) or fake_labels.shape != (len(fake_feats),):
        raise ValueError(f"labels must have one entry per feature row: got {real_labels.shape} for {len(real_feats)} "
                         f"real and {fake_labels.shape} for {len(fake_feats)} fake rows")
    out = {key: np.full(num_classes, np.nan) for key in ("frechet", "precision", "recall")}
    for c in range(num_classes):
        r, f = real_feats[real_labels == c], fake_feats[fake_labels == c]
        if min(len(r), len(f)) <= k:
            raise ValueError(f"class {c} has {len(r)} real and {len(f)} generated images; per-class scores need more "
                             f"than k={k} of each (draw more samples per class)")
        out["frechet"][c] = frechet_distance(r, f)
        out["precision"][c], out["recall"][c] = precision_recall(r, f, k=k)
    return out


# ----------------------------------------------------------------------------------------------
# Lecture 09: more ways to compare a generated set with a real one (cheap, each with a known answer)
# ----------------------------------------------------------------------------------------------
def kernel_distance(feats_a, feats_b, degree: int = 3, gamma: Optional[float] = None, coef0: float = 1.0) -> float:
    """Unbiased squared maximum mean discrepancy (MMD^2) with a polynomial kernel: the Kernel Inception Distance.

    ``k(x, y) = (gamma x . y + coef0)^degree`` with ``gamma = 1 / D`` by default (the KID of
    Binkowski et al., 2018: degree 3, coef0 1). The unbiased estimator leaves out the ``i = j``
    terms: ``mean_{i != j} k(a_i, a_j) + mean_{i != j} k(b_i, b_j) - 2 mean_{i, j} k(a_i, b_j)``.
    Unlike the Frechet distance it has no bias from the sample size: its expectation is 0 when both
    sets come from the same distribution (single estimates can then be slightly negative).

    Args:
        feats_a, feats_b: ``(N, D)`` and ``(M, D)`` features, ``N, M >= 2``.

    Returns:
        MMD^2 in squared kernel units (KID is usually printed x 1000).
    """
    from sklearn.metrics.pairwise import polynomial_kernel

    a, b = _as_features(feats_a, "feats_a"), _as_features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must have the same dimension, got {a.shape[1]} and {b.shape[1]}")
    if isinstance(degree, bool) or int(degree) != degree or degree < 1:
        raise ValueError(f"degree must be a whole number >= 1, got {degree!r}")
    gamma = 1.0 / a.shape[1] if gamma is None else float(gamma)
    k_aa = polynomial_kernel(a, a, degree=int(degree), gamma=gamma, coef0=coef0)
    k_bb = polynomial_kernel(b, b, degree=int(degree), gamma=gamma, coef0=coef0)
    k_ab = polynomial_kernel(a, b, degree=int(degree), gamma=gamma, coef0=coef0)
    n, m = len(a), len(b)
    within_a = (k_aa.sum() - np.trace(k_aa)) / (n * (n - 1))
    within_b = (k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
    return float(within_a + within_b - 2.0 * k_ab.mean())


def nearest_neighbour_accuracy(real_feats, fake_feats) -> float:
    """Leave-one-out 1-nearest-neighbour two-sample test (Lopez-Paz & Oquab, 2017; Xu et al., 2018).

    Pool the two sets, label them real / generated, and classify every point by its nearest *other*
    point. The accuracy reads:

    - about 0.5: the sets cannot be told apart (the ideal, with equal set sizes);
    - towards 1: the sets are separated (poor or collapsed samples);
    - **below 0.5**: generated points sit on top of real ones, closer than real points are to each
      other: the generator copies (memorises) the real set it is compared with.

    Args:
        real_feats, fake_feats: ``(N, D)`` and ``(M, D)``; use ``N = M``.

    Returns:
        accuracy, a fraction in ``[0, 1]``. Ties (exact duplicates) go to the point of the other set,
        the outcome a copy of the real data should get.
    """
    from sklearn.neighbors import NearestNeighbors

    real, fake = _as_features(real_feats, "real_feats"), _as_features(fake_feats, "fake_feats")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sets must have the same dimension, got {real.shape[1]} and {fake.shape[1]}")
    pooled = np.concatenate([real, fake])
    labels = np.r_[np.zeros(len(real), bool), np.ones(len(fake), bool)]
    dist, index = NearestNeighbors(n_neighbors=3).fit(pooled).kneighbors(pooled)
    own = index == np.arange(len(pooled))[:, None]
    # the nearest neighbour other than the point itself; a tie with a point of the other set counts as wrong
    dist = np.where(own, np.inf, dist)
    other_set = labels[index] != labels[:, None]
    nearest = dist.min(axis=1, keepdims=True)
    tie_other = np.any((dist <= nearest * (1 + 1e-12) + 1e-15) & other_set, axis=1)
    return float(np.mean(~tie_other))


def birthday_collision_probability(batch_size: int, support_size: int) -> float:
    """Probability that ``batch_size`` draws from ``support_size`` equally likely items hold a repeat.

    ``1 - prod_{i < s} (1 - i / S)``; about 1/2 when ``s ~ sqrt(S)``, the birthday paradox that
    :func:`birthday_test` turns around (Arora & Zhang, 2017): if batches of ``s`` samples usually
    contain a near-duplicate, the generator's support is about ``s^2`` images.
    """
    s, big_s = int(batch_size), int(support_size)
    if s < 1 or big_s < 1:
        raise ValueError(f"batch_size and support_size must be >= 1, got {batch_size} and {support_size}")
    if s > big_s:
        return 1.0
    return float(1.0 - np.prod(1.0 - np.arange(s) / big_s))


def birthday_test(samples, batch_size: int, threshold: float, n_batches: int = 20, seed: int = 0) -> dict:
    """The birthday-paradox duplicate check: how often a random batch contains a near-duplicate pair.

    Args:
        samples: ``(N, ...)`` generated samples (images or features), flattened per sample.
        batch_size: ``s``, samples per batch.
        threshold: two samples closer than this (Euclidean, on the flattened samples) are a duplicate.
            Set it from real data: e.g. a low percentile of nearest-neighbour distances between real
            samples, so that real data of the same size rarely has duplicates. (Arora & Zhang
            inspect the closest pairs by eye instead; printing them beside the number is good practice.)
        n_batches: batches drawn (without replacement inside a batch).

    Returns:
        ``{"duplicate_rate": fraction of batches with at least one pair closer than threshold,
        "closest": (n_batches,) closest distance in each batch,
        "support_estimate": s^2 if duplicate_rate >= 1/2 else None (only a lower bound is known then)}``.
    """
    from sklearn.metrics import pairwise_distances

    x = np.asarray(samples, dtype="float64").reshape(len(samples), -1)
    s = int(batch_size)
    if not 2 <= s <= len(x):
        raise ValueError(f"batch_size must be in [2, {len(x)}] for {len(x)} samples, got {batch_size}")
    rng = np.random.default_rng(seed)
    closest = np.empty(int(n_batches))
    for i in range(int(n_batches)):
        batch = x[rng.choice(len(x), size=s, replace=False)]
        d = pairwise_distances(batch)
        closest[i] = d[np.triu_indices(s, k=1)].min()
    rate = float(np.mean(closest < threshold))
    return {"duplicate_rate": rate, "closest": closest, "support_estimate": s * s if rate >= 0.5 else None}


def statistically_different_bins(train, test, samples, n_bins: int = 20, alpha: float = 0.05, seed: int = 0) -> dict:
    """Number of statistically different bins (NDB, Richardson & Weiss, 2018).

    k-means (scikit-learn) splits the **training** samples into ``n_bins`` cells; every other set is
    assigned to the nearest centre. For each bin a two-proportion z-test compares the share of
    ``samples`` in it with the share of ``test`` (real held-out data) in it; NDB counts the bins where
    they differ at level ``alpha``. For a model that matches the data, about ``alpha * n_bins`` bins
    differ by chance; missing or over-produced modes make many differ.

    Args:
        train: ``(N, D)`` real training samples (flattened images or features) to fit the bins on.
        test: ``(M, D)`` real held-out samples (the reference proportions).
        samples: ``(L, D)`` generated samples.

    Returns:
        ``{"ndb": int, "ndb_over_k": ndb / n_bins, "different": (n_bins,) bool,
        "test_share", "sample_share": (n_bins,) fractions}``.
    """
    from scipy.stats import norm
    from sklearn.cluster import KMeans

    def flat(x, name):
        arr = np.asarray(x, dtype="float64").reshape(len(x), -1)
        return _as_features(arr, name)

    train, test, samples = flat(train, "train"), flat(test, "test"), flat(samples, "samples")
    if not train.shape[1] == test.shape[1] == samples.shape[1]:
        raise ValueError(f"train, test and samples must have the same dimension, got {train.shape[1]}, "
                         f"{test.shape[1]} and {samples.shape[1]}")
    if not 2 <= int(n_bins) <= len(train):
        raise ValueError(f"n_bins must be in [2, {len(train)}], got {n_bins}")
    km = KMeans(n_clusters=int(n_bins), n_init=3, random_state=seed).fit(train)
    test_counts = np.bincount(km.predict(test), minlength=int(n_bins))
    sample_counts = np.bincount(km.predict(samples), minlength=int(n_bins))
    p1, p2 = test_counts / len(test), sample_counts / len(samples)
    pooled = (test_counts + sample_counts) / (len(test) + len(samples))
    se = np.sqrt(pooled * (1 - pooled) * (1 / len(test) + 1 / len(samples)))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (p1 - p2) / se, 0.0)
    different = np.abs(z) > norm.ppf(1 - alpha / 2)
    return {"ndb": int(different.sum()), "ndb_over_k": float(different.mean()), "different": different,
            "test_share": p1, "sample_share": p2}


def f_score(precision: float, recall: float, beta: float = 1.0) -> float:
    """``F_beta = (1 + beta^2) P R / (beta^2 P + R)``: beta = 1 is the harmonic mean of precision and recall.

    One number that is high only when both are: a generator with sharp samples from one mode
    (P ~ 1, R ~ 0) gets F1 ~ 0. 0 when both are 0.
    """
    p, r = float(precision), float(recall)
    for name, v in (("precision", p), ("recall", r)):
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"{name} must be a fraction in [0, 1], got {v}")
    if p == 0.0 and r == 0.0:
        return 0.0
    b2 = float(beta) ** 2
    return (1 + b2) * p * r / (b2 * p + r)


def paired_image_quality(images, references, max_val: float = 1.0, tolerance: float = 0.1) -> dict:
    """Per-pixel error, pixel accuracy, SSIM (``tf.image.ssim``) and PSNR of images against **paired** references.

    Only meaningful when each image has a known target (reconstruction, super-resolution,
    image-to-image translation with pairs, lecture 08), not for unconditional samples.

    Args:
        images, references: ``(N, H, W, C)`` in ``[0, max_val]``, same shape (H, W >= 11 for SSIM's window).
        tolerance: a pixel counts as right when every channel is within ``tolerance`` of the
            reference (same units as the images; 0.1 = about 25 of 255 grey levels).

    Returns:
        ``{"mae": mean absolute error per pixel and channel (0 = identical), "pixel_accuracy": share of
        pixels within the tolerance in [0, 1], "ssim": mean SSIM in [-1, 1] (1 = identical), "psnr": mean
        PSNR in dB (inf if identical)}``.
    """
    import tensorflow as tf

    a, b = np.asarray(images, "float32"), np.asarray(references, "float32")
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"images and references must be (N, H, W, C) arrays of the same shape, got {a.shape} "
                         f"and {b.shape}")
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")
    ssim = tf.image.ssim(a, b, max_val=max_val).numpy()
    diff = np.abs(a.astype("float64") - b)
    mse = np.mean(diff ** 2, axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        psnr = 10 * np.log10(max_val ** 2 / mse)  # as tf.image.psnr, in float64 (inf for identical images)
    return {"mae": float(diff.mean()), "pixel_accuracy": float(np.mean(np.all(diff <= tolerance, axis=-1))),
            "ssim": float(ssim.mean()), "psnr": float(np.mean(psnr))}


def parzen_log_likelihood(samples, test, sigma: float, batch: int = 512) -> float:
    """Mean log-likelihood (nats per example) of ``test`` under a Gaussian kernel density on ``samples``.

    ``log p(x) = logsumexp_i( -|x - s_i|^2 / (2 sigma^2) ) - log N - (D / 2) log(2 pi sigma^2)``:
    the "Parzen window" estimate of early GAN papers. Shown in lecture 09 with its flaws (Theis et
    al., 2016): in high dimension it needs impossibly many samples and stays far from the true
    log-likelihood; on MNIST a set of *k-means centroids* of the training digits (blurry averages,
    not digits) gets a higher Parzen score than the same number of samples from the true
    distribution itself (real digits), so the estimate can rank a poor model above a perfect one;
    and it depends strongly on ``sigma`` (choose it on validation data, never on the test set).
    Lecture 09's sensitivity table shows the same effect: blurred digits score higher than real ones.

    Args:
        samples: ``(N, D)`` generated samples (flattened).
        test: ``(M, D)`` real held-out samples (flattened).
        sigma: kernel width (same units).
    """
    from scipy.special import logsumexp

    s = np.asarray(samples, "float64").reshape(len(samples), -1)
    t = np.asarray(test, "float64").reshape(len(test), -1)
    if s.shape[1] != t.shape[1]:
        raise ValueError(f"samples and test must have the same dimension, got {s.shape[1]} and {t.shape[1]}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    d = s.shape[1]
    const = -np.log(len(s)) - 0.5 * d * np.log(2 * np.pi * sigma ** 2)
    s_sq = (s ** 2).sum(axis=1)
    out = []
    for i in range(0, len(t), batch):
        chunk = t[i:i + batch]
        d2 = np.maximum((chunk ** 2).sum(axis=1)[:, None] - 2 * chunk @ s.T + s_sq[None, :], 0.0)
        out.append(logsumexp(-d2 / (2 * sigma ** 2), axis=1) + const)
    return float(np.mean(np.concatenate(out)))
