"""``reconstruct`` (issue 19, first part): mean-field reconstruction of the
RBMs and of a DeepBeliefNetwork, against the closed-form conditional
means written out in NumPy."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit

from skebm import BernoulliRBM, DeepBeliefNetwork, GaussianBernoulliRBM


def _binary(seed, n=40, d=7):
    return (np.random.RandomState(seed).rand(n, d) < 0.4).astype(np.float64)


def _real(seed, n=60, d=5):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, d)) * [1.0, 2.0, 0.5, 3.0, 1.0] + [0, 1, -1, 2, 0]


def _bernoulli_step(V, rbm):
    H = expit(V @ rbm.components_.T + rbm.intercept_hidden_)
    return expit(H @ rbm.components_ + rbm.intercept_visible_)


def _gaussian_step(V, rbm):
    sigma = rbm.sigma_
    H = expit((V / sigma) @ rbm.components_.T + rbm.intercept_hidden_)
    return rbm.intercept_visible_ + sigma * (H @ rbm.components_)


def test_bernoulli_reconstruction_is_the_conditional_mean():
    X = _binary(0)
    rbm = BernoulliRBM(n_components=4, n_iter=5, random_state=0).fit(X)
    one = _bernoulli_step(X, rbm)
    np.testing.assert_allclose(rbm.reconstruct(X), one, rtol=1e-12)
    np.testing.assert_allclose(
        rbm.reconstruct(X, n_steps=3),
        _bernoulli_step(_bernoulli_step(one, rbm), rbm),
        rtol=1e-12,
    )
    assert not np.allclose(one, X)  # power: a step changes the rows


def test_gaussian_reconstruction_is_the_conditional_mean_with_learned_sigma():
    X = _real(1)
    rbm = GaussianBernoulliRBM(n_components=3, n_iter=5, learn_sigma=True,
                               learning_rate=0.01, random_state=0).fit(X)  # fmt: skip
    assert np.ptp(rbm.sigma_) > 0.1  # sigma matters in the formula
    np.testing.assert_allclose(rbm.reconstruct(X), _gaussian_step(X, rbm), rtol=1e-10)
    two = _gaussian_step(_gaussian_step(X, rbm), rbm)
    np.testing.assert_allclose(rbm.reconstruct(X, n_steps=2), two, rtol=1e-10)


def test_dtype_sparse_input_and_the_caller_array():
    X = _binary(2)
    rbm = BernoulliRBM(n_components=4, n_iter=3, random_state=0).fit(X)
    before = X.copy()
    dense = rbm.reconstruct(X)
    np.testing.assert_array_equal(X, before)
    assert dense.dtype == np.float64
    np.testing.assert_allclose(rbm.reconstruct(sp.csr_matrix(X)), dense, rtol=1e-12)
    single = rbm.reconstruct(X.astype(np.float32))
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, dense, rtol=1e-5)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_n_steps_are_refused(bad):
    X = _binary(3)
    rbm = BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(X)
    with pytest.raises((ValueError, TypeError), match="n_steps"):
        rbm.reconstruct(X, n_steps=bad)


def test_bernoulli_reconstruct_checks_the_domain():
    X = _binary(4)
    rbm = BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rbm.reconstruct(X + 2.0)


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_dbn_reconstruction_goes_up_and_down_the_stack(visible):
    X = _binary(5, n=80, d=8) if visible == "bernoulli" else _real(5, n=80)
    dbn = DeepBeliefNetwork(hidden_layer_sizes=(6, 3), n_iter=3, visible=visible,
                            random_state=0).fit(X)  # fmt: skip
    first, top = dbn.rbms_
    H1 = first.transform(X)
    H2 = top.transform(H1)
    down = expit(H2 @ top.components_ + top.intercept_visible_)
    if visible == "bernoulli":
        expected = expit(down @ first.components_ + first.intercept_visible_)
    else:
        expected = first.intercept_visible_ + (down @ first.components_)  # sigma 1
    np.testing.assert_allclose(dbn.reconstruct(X), expected, rtol=1e-10)
    again = dbn.reconstruct(dbn.reconstruct(X))
    np.testing.assert_allclose(dbn.reconstruct(X, n_steps=2), again, rtol=1e-12)


def test_clamped_entries_never_change_and_the_others_follow_the_formula():
    X = _binary(6, n=30, d=8)
    rbm = BernoulliRBM(n_components=5, n_iter=5, random_state=0).fit(X)
    clamp = np.random.RandomState(1).rand(*X.shape) < 0.6
    start = np.where(clamp, X, 0.5)
    out = rbm.reconstruct(start, n_steps=4, clamp=clamp)
    np.testing.assert_array_equal(out[clamp], X[clamp])
    expected = start.copy()
    for _ in range(4):
        expected = _bernoulli_step(expected, rbm)
        expected[clamp] = X[clamp]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    # power: without clamping the observed entries would move
    free = rbm.reconstruct(start, n_steps=4)
    assert np.abs(free[clamp] - X[clamp]).max() > 0.05


def test_clamped_dbn_and_gaussian_rbm():
    X = _real(7)
    clamp = np.zeros(X.shape, bool)
    clamp[:, :3] = True  # fill the last two features from the first three
    rbm = GaussianBernoulliRBM(n_components=3, n_iter=5, random_state=0).fit(X)
    out = rbm.reconstruct(X, n_steps=2, clamp=clamp)
    np.testing.assert_array_equal(out[:, :3], X[:, :3])
    expected = _gaussian_step(X, rbm)
    expected[:, :3] = X[:, :3]
    expected = _gaussian_step(expected, rbm)
    expected[:, :3] = X[:, :3]
    np.testing.assert_allclose(out, expected, rtol=1e-10)
    dbn = DeepBeliefNetwork(hidden_layer_sizes=(4, 2), n_iter=2, visible="gaussian",
                            random_state=0).fit(X)  # fmt: skip
    filled = dbn.reconstruct(X, n_steps=3, clamp=clamp)
    np.testing.assert_array_equal(filled[:, :3], X[:, :3])
    assert not np.allclose(filled[:, 3:], X[:, 3:])


@pytest.mark.parametrize(
    "clamp, error, match",
    [
        (np.ones((30, 8)), TypeError, "boolean"),
        (np.ones((30, 7), bool), ValueError, "shape"),
        (np.ones(8, bool), ValueError, "shape"),
    ],
)
def test_bad_clamp_masks_are_refused(clamp, error, match):
    X = _binary(8, n=30, d=8)
    rbm = BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(X)
    with pytest.raises(error, match=match):
        rbm.reconstruct(X, clamp=clamp)
    dbn = DeepBeliefNetwork(hidden_layer_sizes=(3,), n_iter=1, random_state=0).fit(X)
    with pytest.raises(error, match=match):
        dbn.reconstruct(X, clamp=clamp)


def test_boltzmann_machine_reconstruction_is_a_parallel_mean_field_step():
    from skebm import BoltzmannMachine

    X = _binary(9, n=60, d=5)
    bm = BoltzmannMachine(n_hidden=2, n_iter=3, random_state=0).fit(X)
    W, b, n = bm.coef_, bm.intercept_, X.shape[1]

    def step(V):
        units = np.hstack([V, bm.transform(V)])  # exact hidden marginals
        return expit(units @ W[:, :n] + b[:n])

    np.testing.assert_allclose(bm.reconstruct(X), step(X), rtol=1e-12)
    np.testing.assert_allclose(bm.reconstruct(X, n_steps=2), step(step(X)), rtol=1e-12)
    clamp = np.zeros(X.shape, bool)
    clamp[:, 0] = True
    out = bm.reconstruct(X, n_steps=2, clamp=clamp)
    np.testing.assert_array_equal(out[:, 0], X[:, 0])
    first = step(X)
    first[:, 0] = X[:, 0]
    np.testing.assert_allclose(out[:, 1:], step(first)[:, 1:], rtol=1e-12)
    np.testing.assert_allclose(
        bm.reconstruct(sp.csr_matrix(X)), bm.reconstruct(X), rtol=1e-12
    )


# ------------------------------------------------------ denoising: noise=
def _evidence(X, noise):
    return (2 * X - 1) * np.log((1 - noise) / noise)


def test_bernoulli_denoising_is_the_posterior_mean_under_flips():
    X = _binary(10)
    rbm = BernoulliRBM(n_components=4, n_iter=5, random_state=0).fit(X)

    def step(V):
        H = expit(V @ rbm.components_.T + rbm.intercept_hidden_)
        return expit(H @ rbm.components_ + rbm.intercept_visible_ + _evidence(X, 0.1))

    np.testing.assert_allclose(rbm.reconstruct(X, noise=0.1), step(X), rtol=1e-12)
    np.testing.assert_allclose(
        rbm.reconstruct(X, n_steps=3, noise=0.1), step(step(step(X))), rtol=1e-12
    )
    np.testing.assert_allclose(
        rbm.reconstruct(sp.csr_matrix(X), noise=0.1), step(X), rtol=1e-12
    )
    # the limits: no evidence at 0.5, the observation itself as noise -> 0
    np.testing.assert_allclose(
        rbm.reconstruct(X, noise=0.5 - 1e-12), rbm.reconstruct(X), atol=1e-9
    )
    np.testing.assert_allclose(rbm.reconstruct(X, noise=1e-12), X, atol=1e-9)
    assert not np.allclose(rbm.reconstruct(X, noise=0.1), rbm.reconstruct(X))


def test_gaussian_denoising_weighs_model_and_observation_by_precision():
    X = _real(11)
    rbm = GaussianBernoulliRBM(n_components=3, n_iter=5, learn_sigma=True,
                               learning_rate=0.01, random_state=0).fit(X)  # fmt: skip
    tau = 0.7

    def step(V):
        mean = _gaussian_step(V, rbm)
        var = rbm.sigma_**2
        return (tau**2 * mean + var * X) / (tau**2 + var)

    np.testing.assert_allclose(rbm.reconstruct(X, noise=tau), step(X), rtol=1e-10)
    np.testing.assert_allclose(
        rbm.reconstruct(X, n_steps=2, noise=tau), step(step(X)), rtol=1e-10
    )


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_dbn_denoising_applies_the_noise_model_at_the_bottom(visible):
    X = _binary(12, n=80, d=8) if visible == "bernoulli" else _real(12, n=80)
    dbn = DeepBeliefNetwork(hidden_layer_sizes=(6, 3), n_iter=3, visible=visible,
                            random_state=0).fit(X)  # fmt: skip
    first, top = dbn.rbms_
    down = expit(top.transform(first.transform(X)) @ top.components_
                 + top.intercept_visible_)  # fmt: skip
    noise = 0.2 if visible == "bernoulli" else 0.5
    if visible == "bernoulli":
        pre = down @ first.components_ + first.intercept_visible_
        expected = expit(pre + _evidence(X, noise))
    else:
        mean = first.intercept_visible_ + down @ first.components_  # sigma 1
        expected = (noise**2 * mean + X) / (noise**2 + 1)
    np.testing.assert_allclose(dbn.reconstruct(X, noise=noise), expected, rtol=1e-10)


def test_boltzmann_denoising_adds_the_flip_evidence():
    from skebm import BoltzmannMachine

    X = _binary(13, n=60, d=5)
    bm = BoltzmannMachine(n_hidden=2, n_iter=3, random_state=0).fit(X)
    W, b, n = bm.coef_, bm.intercept_, X.shape[1]

    def step(V):
        units = np.hstack([V, bm.transform(V)])
        return expit(units @ W[:, :n] + b[:n] + _evidence(X, 0.15))

    np.testing.assert_allclose(
        bm.reconstruct(X, n_steps=2, noise=0.15), step(step(X)), rtol=1e-12
    )


@pytest.mark.parametrize(
    "noise, error, match",
    [(0.0, ValueError, "flipped"), (0.5, ValueError, "flipped"), (-0.1, ValueError,
     "flipped"), (True, TypeError, "real"), ("0.1", TypeError, "real")],
)  # fmt: skip
def test_bad_noise_is_refused(noise, error, match):
    X = _binary(14)
    rbm = BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(X)
    with pytest.raises(error, match=match):
        rbm.reconstruct(X, noise=noise)
    gauss = GaussianBernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="standard deviation"):
        gauss.reconstruct(X, noise=0.0)
    gauss.reconstruct(X, noise=2.0)  # a sd may exceed 0.5
