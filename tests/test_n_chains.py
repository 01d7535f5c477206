"""``n_chains`` (issue 18): the number of persistent chains of the RBMs,
independent of ``batch_size``, persisting across minibatches, epochs and
``partial_fit`` calls, and passed through by the DBN layers."""

import exact
import numpy as np
import pytest

from skebm import BernoulliRBM, DBNClassifier, DeepBeliefNetwork, GaussianBernoulliRBM


def _data(seed, n=300):
    rng = np.random.RandomState(seed)
    return (rng.rand(n, 6) < [0.8, 0.7, 0.2, 0.1, 0.6, 0.3]).astype(np.float64)


def _step_cosine(seed, n_chains):
    """Cosine between one PCD step (the whole data as one minibatch) and the
    exact log-likelihood gradient at the parameters it starts from."""
    X = _data(seed)
    rbm = BernoulliRBM(
        n_components=4,
        batch_size=300,
        n_chains=n_chains,
        learning_rate=0.05,
        random_state=seed,
        log_partition=None,
    ).partial_fit(X)  # one step: the chains leave their all-zero start
    before = (rbm.components_.copy(), rbm.intercept_visible_.copy(),
              rbm.intercept_hidden_.copy())  # fmt: skip
    grad = exact.ml_gradient(X, *before)
    rbm.partial_fit(X)  # the step under test
    after = (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)
    step = np.concatenate([(a - b).ravel() for a, b in zip(after, before)])
    g = np.concatenate([x.ravel() for x in grad])
    return step @ g / (np.linalg.norm(step) * np.linalg.norm(g))


@pytest.mark.parametrize("seed", range(3))
def test_many_chains_give_a_step_along_the_exact_gradient(seed):
    # Near the start the model is close to uniform, so the chains are close
    # to equilibrium after one step and the negative phase of n chains is
    # the exact model expectation plus noise of order 1/sqrt(n): with 4000
    # chains (not 300, the batch size) the step is almost exactly the
    # gradient, and clearly closer to it than with 3 chains.
    many = _step_cosine(seed, n_chains=4000)
    few = _step_cosine(seed, n_chains=3)
    assert many > 0.95, many
    assert few < many - 0.05, (few, many)


@pytest.mark.parametrize("Estimator", [BernoulliRBM, GaussianBernoulliRBM])
def test_chains_persist_across_minibatches_epochs_and_partial_fit(Estimator):
    X = _data(0, n=25)
    rbm = Estimator(n_components=3, batch_size=10, n_chains=7, n_iter=2)
    rbm.set_params(random_state=0, log_partition=None).fit(X)
    assert rbm.h_samples_.shape == (7, 3)
    assert set(np.unique(rbm.h_samples_)) <= {0.0, 1.0}
    chains = rbm.h_samples_.copy()
    rbm.partial_fit(X[:4])  # one short minibatch: the 7 chains move on
    assert rbm.h_samples_.shape == (7, 3)
    assert not np.array_equal(rbm.h_samples_, chains)


def test_default_is_one_chain_per_minibatch_row_and_cd_ignores_n_chains():
    X = _data(1, n=40)
    default = BernoulliRBM(n_components=3, batch_size=8, n_iter=2, random_state=0)
    explicit = BernoulliRBM(
        n_components=3, batch_size=8, n_chains=8, n_iter=2, random_state=0
    )
    default.fit(X)
    explicit.fit(X)
    np.testing.assert_array_equal(default.components_, explicit.components_)
    assert default.h_samples_.shape == (8, 3)
    cd = BernoulliRBM(n_components=3, batch_size=8, n_iter=2, persistent=False)
    cd_chains = BernoulliRBM(
        n_components=3, batch_size=8, n_iter=2, persistent=False, n_chains=50
    )
    cd.set_params(random_state=0).fit(X)
    cd_chains.set_params(random_state=0).fit(X)
    np.testing.assert_array_equal(cd.components_, cd_chains.components_)


def test_changing_n_chains_between_partial_fit_calls_resizes_the_chains():
    X = _data(2, n=30)
    rbm = BernoulliRBM(n_components=3, batch_size=10, n_chains=4, n_iter=1)
    rbm.set_params(random_state=0, log_partition=None).fit(X)
    grown = rbm.set_params(n_chains=10)
    grown.partial_fit(X)
    assert grown.h_samples_.shape == (10, 3)
    grown.set_params(n_chains=2).partial_fit(X)
    assert grown.h_samples_.shape == (2, 3)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dbn_layers_get_n_chains():
    X = _data(3, n=40)
    dbn = DeepBeliefNetwork((4, 3), n_chains=6, n_iter=1, random_state=0).fit(X)
    assert [rbm.h_samples_.shape for rbm in dbn.rbms_] == [(6, 4), (6, 3)]
    clf = DBNClassifier(
        (4,), pretrain_n_chains=5, pretrain_n_iter=1, max_iter=2, random_state=0
    ).fit(X, X[:, 0])
    assert clf.dbn_.rbms_[0].h_samples_.shape == (5, 4)
