import math

import numpy as np
import pytest
import scipy.stats

from coursekit import metrics
from coursekit.data import ImageDataset


def whitened(n=400, d=5, seed=0):
    """Samples with sample mean exactly 0 and sample covariance (ddof=1) exactly I."""
    x = np.random.default_rng(seed).normal(size=(n, d))
    x -= x.mean(axis=0)
    chol = np.linalg.cholesky(np.cov(x, rowvar=False))
    return x @ np.linalg.inv(chol).T


def psd_sqrt(m):
    w, v = np.linalg.eigh(m)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


# --- Frechet distance ---------------------------------------------------------------------------
def test_frechet_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(1).normal(size=(300, 8))
    assert metrics.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_shifted_means_same_covariance_is_squared_shift():
    x = whitened()
    shift = np.array([3.0, 0.0, -1.0, 0.5, 0.0])
    # with the sqrtm term dropped this would be |shift|^2 + 2 * 5
    assert metrics.frechet_distance(x, x + shift) == pytest.approx(float(shift @ shift), rel=1e-7, abs=1e-8)
    # and any covariance works the same way
    y = x @ np.array([[2.0, 0.5, 0, 0, 0], [0, 1.0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 3, 0], [0, 0, 0, 0, 0.2]])
    assert metrics.frechet_distance(y, y + shift) == pytest.approx(float(shift @ shift), rel=1e-7)


def test_frechet_diagonal_covariances_closed_form():
    x = whitened()  # covariance I
    s = np.array([0.5, 1.0, 2.0, 3.0, 0.1])
    mu = np.array([1.0, -2.0, 0.0, 0.0, 0.5])
    # N(0, I) vs N(mu, diag(s^2)): |mu|^2 + sum (1 + s^2 - 2 s) = |mu|^2 + sum (1 - s)^2
    expected = mu @ mu + np.sum((1.0 - s) ** 2)
    assert metrics.frechet_distance(x, x * s + mu) == pytest.approx(expected, rel=1e-7)
    # two diagonal covariances: sum (s1 - s2)^2
    s2 = np.array([1.5, 0.2, 2.0, 1.0, 1.0])
    assert metrics.frechet_distance(x * s, x * s2) == pytest.approx(np.sum((s - s2) ** 2), rel=1e-7)


def test_frechet_non_commuting_covariances_closed_form():
    rng = np.random.default_rng(2)
    x = whitened(d=4)
    a, b = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    fa, fb = x @ a.T, x @ b.T + 1.0  # covariances A A^T, B B^T (exactly), means 0 and 1
    ca, cb = a @ a.T, b @ b.T
    root = psd_sqrt(ca)
    expected = 4.0 + np.trace(ca) + np.trace(cb) - 2 * np.trace(psd_sqrt(root @ cb @ root))
    assert metrics.frechet_distance(fa, fb) == pytest.approx(expected, rel=1e-6)


def test_frechet_of_samples_approaches_the_population_value():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(20000, 3))
    b = rng.normal(size=(20000, 3)) * 2.0 + 1.0  # N(1, 4 I): 3 * 1 + 3 * (1 - 2)^2 = 6
    assert metrics.frechet_distance(a, b) == pytest.approx(6.0, abs=0.15)


def test_frechet_bad_input():
    with pytest.raises(ValueError, match="same dimension"):
        metrics.frechet_distance(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="2-D"):
        metrics.frechet_distance(np.zeros(5), np.zeros(5))


# --- Inception score ------------------------------------------------------------------------------
def test_inception_score_known_values():
    c = 7
    confident_uniform = np.eye(c)[np.arange(70) % c]
    assert metrics.inception_score(confident_uniform) == pytest.approx(c, rel=1e-9)
    one_class = np.eye(c)[np.zeros(50, int)]
    assert metrics.inception_score(one_class) == pytest.approx(1.0, abs=1e-9)
    unsure = np.full((40, c), 1.0 / c)
    assert metrics.inception_score(unsure) == pytest.approx(1.0, abs=1e-9)
    # confident, but only 2 of the 7 classes, evenly: IS = 2
    assert metrics.inception_score(np.eye(c)[np.arange(40) % 2]) == pytest.approx(2.0, rel=1e-9)


def test_inception_score_matches_the_definition():
    p = np.random.default_rng(4).dirichlet(np.ones(5) * 0.5, size=200)
    p_y = p.mean(axis=0)
    expected = math.exp(np.mean([scipy.stats.entropy(row, p_y) for row in p]))
    assert metrics.inception_score(p) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(ValueError, match="softmax"):
        metrics.inception_score(np.ones((3, 4)))


# --- precision and recall ---------------------------------------------------------------------------
def test_precision_recall_identical_and_disjoint_sets():
    x = np.random.default_rng(5).normal(size=(200, 6))
    assert metrics.precision_recall(x, x, k=3) == (1.0, 1.0)
    assert metrics.precision_recall(x, x + 100.0, k=3) == (0.0, 0.0)


def test_precision_recall_one_mode_of_several():
    rng = np.random.default_rng(6)
    centres = rng.normal(scale=20.0, size=(5, 4))
    real = np.concatenate([c + rng.normal(size=(100, 4)) for c in centres])
    collapsed = centres[0] + rng.normal(size=(100, 4))  # only one of the five modes
    precision, recall = metrics.precision_recall(real, collapsed, k=3)
    assert precision > 0.9  # what it draws is realistic...
    assert 0.1 < recall < 0.3  # ...but it covers about one mode in five
    spread = np.concatenate([c + rng.normal(size=(20, 4)) for c in centres])
    assert metrics.precision_recall(real, spread, k=3)[1] > 0.6
    with pytest.raises(ValueError, match="k must be"):
        metrics.precision_recall(real, collapsed, k=100)


# --- class histogram ---------------------------------------------------------------------------------
def test_class_histogram_and_coverage():
    hist = metrics.class_histogram(np.array([0, 0, 1, 3, 3, 3]), 5)
    np.testing.assert_array_equal(hist, [2, 1, 0, 3, 0])
    assert metrics.classes_covered(hist) == 3  # threshold 1/10 of the samples
    assert metrics.classes_covered([96, 1, 1, 1, 1]) == 1  # stray samples do not count
    assert metrics.classes_covered([96, 1, 1, 1, 1], min_fraction=0.01) == 5
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        metrics.class_histogram(np.array([0, 5]), 5)
    with pytest.raises(ValueError, match="integer"):
        metrics.class_histogram(np.array([0.5]), 5)


# --- the scorer, end to end on a toy dataset -----------------------------------------------------------
def quadrant_images(n, seed):
    """8x8 images with one bright quadrant (the class, 0-3) plus noise, in [0, 1]."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    x = rng.uniform(0, 0.3, size=(n, 8, 8, 1))
    for i, c in enumerate(y):
        r, col = divmod(int(c), 2)
        x[i, 4 * r:4 * r + 4, 4 * col:4 * col + 4] += 0.6
    return np.clip(x, 0, 1).astype("float32"), y.astype("int32")


@pytest.fixture(scope="module")
def toy():
    import keras

    keras.utils.set_random_seed(0)
    x_train, y_train = quadrant_images(400, 0)
    x_test, y_test = quadrant_images(200, 1)
    data = ImageDataset(x_train, y_train, x_test, y_test, name="quadrants", provenance="synthetic", num_classes=4)
    scorer, acc = metrics.train_scorer(data, run_name="toy-scorer", epochs=8, batch_size=32, feature_dim=16)
    return data, scorer, acc


def test_scorer_real_floor_and_a_one_class_generator(toy):
    data, scorer, acc = toy
    assert acc > 0.95
    assert scorer.features(data.x_test[:5]).shape == (5, 16)
    assert scorer.probs(data.x_test[:5]).shape == (5, 4)

    floor = scorer.score(data.x_train[:200], data.x_test[:200])
    assert floor["inception_score"] > 3.0 and floor["classes_covered"] == 4
    assert floor["precision"] > 0.8 and floor["recall"] > 0.8
    assert scorer.score(data.x_test[:200], data.x_test[:200])["frechet"] == pytest.approx(0.0, abs=1e-6)

    one_class, _ = quadrant_images(200, 2)
    one_class = one_class[np.arange(200) % 4 == 0]  # a "generator" that only draws class 0
    collapsed = scorer.score(data.x_test[:200], one_class)
    assert collapsed["inception_score"] < 1.3
    assert collapsed["classes_covered"] == 1 and collapsed["histogram"].argmax() == 0
    assert collapsed["recall"] < 0.4 < collapsed["precision"]
    assert collapsed["frechet"] > 5 * max(floor["frechet"], 1e-3)


def test_scorer_refuses_bad_images(toy):
    data, scorer, _ = toy
    with pytest.raises(ValueError, match="from_tanh_range"):
        scorer.score(data.x_test[:10] * 2 - 1, data.x_test[:10])
    with pytest.raises(ValueError, match="shape"):
        scorer.features(np.zeros((3, 28, 28, 1), "float32"))
    import keras

    plain = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(4, activation="softmax")])
    with pytest.raises(ValueError, match="features"):
        metrics.Scorer(plain)


def test_build_feature_classifier_shapes():
    model = metrics.build_feature_classifier((64, 64, 3), 5, feature_dim=32)
    assert model.get_layer("features").output.shape[-1] == 32
    assert model.output.shape[-1] == 5
    assert min(model.get_layer("features").input.shape[1:]) > 0
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert len(convs) == 4  # 64 -> 32 -> 16 -> 8 -> 4
    assert len([layer for layer in metrics.build_feature_classifier((28, 28, 1), 10).layers
                if layer.__class__.__name__ == "Conv2D"]) == 2  # 28 -> 14 -> 7


# --- conditional generation (lecture 07) -------------------------------------------------------
def test_condition_alignment_known_answer():
    requested = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 0, 0, 1, 1, 0, 2, 2])
    out = metrics.condition_alignment(predicted, requested, 4)
    assert out["overall"] == pytest.approx(6 / 8)
    np.testing.assert_allclose(out["per_class"][:3], [0.75, 0.5, 1.0])
    assert np.isnan(out["per_class"][3])  # never requested
    assert out["confusion"][0, 1] == 1 and out["confusion"][1, 0] == 1 and out["confusion"].sum() == 8
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        metrics.condition_alignment(np.array([4]), np.array([0]), 4)
    with pytest.raises(ValueError, match="same length"):
        metrics.condition_alignment(np.array([0, 1]), np.array([0]), 4)


def test_per_class_scores_see_a_class_that_collapsed():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    labels = np.repeat([0, 1], 200)
    real = centres[labels] + rng.normal(size=(400, 2))
    fake = centres[labels] + rng.normal(size=(400, 2))
    fake[labels == 1] = centres[1] + 0.01 * rng.normal(size=(200, 2))  # class 1: one point, no variety
    out = metrics.per_class_scores(real, labels, fake, labels, 2)
    assert out["frechet"][0] < 0.1 < 1.0 < out["frechet"][1]  # closed form for class 1: about 2 (1 + 1 from sd 1 -> 0)
    assert out["recall"][0] > 0.8 and out["recall"][1] < 0.2
    assert out["precision"][1] > 0.9  # the collapsed samples are still realistic
    with pytest.raises(ValueError, match="class 1 has"):
        metrics.per_class_scores(real, labels, fake[:203], labels[:203], 2)


def test_scorer_batches_match_one_forward_pass_and_do_not_retrace(caplog):
    import logging

    import keras

    from coursekit.metrics import Scorer, build_feature_classifier

    keras.utils.set_random_seed(0)
    scorers = [Scorer(build_feature_classifier((8, 8, 1), 3, feature_dim=4), batch_size=16) for _ in range(3)]
    scorer = scorers[0]
    x = np.random.default_rng(0).uniform(size=(37, 8, 8, 1)).astype("float32")
    feats, probs = scorer.features_and_probs(x)
    assert feats.shape == (37, 4) and probs.shape == (37, 3)
    direct = scorer.classifier(x, training=False).numpy()
    np.testing.assert_allclose(probs, direct, rtol=1e-4, atol=1e-6)  # batching changes nothing
    with caplog.at_level(logging.WARNING):
        for n in (1, 2, 3, 5, 7, 9, 11, 13, 17, 19, 23, 37):  # several judges, many set sizes, as lecture 07
            for judge in scorers:
                judge.probs(x[:n])
        for _ in range(6):  # new classifiers scored once each (TensorFlow counts traces across models)
            Scorer(build_feature_classifier((8, 8, 1), 3, feature_dim=4)).probs(x[:3])
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
