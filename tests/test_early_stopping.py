"""Early stopping of the RBMs on held-out log-likelihood (issue 18, item 4)."""

import io
from contextlib import redirect_stdout

import numpy as np
import pytest

# private: the cost threshold that picks exact or AIS tracking is not a
# parameter; lowering it is the only way to track one enumerable model both ways
import skebm._held_out as held_out
from skebm import BernoulliRBM, GaussianBernoulliRBM


def _prototype_data(seed=0, n=600, n_features=12):
    rng = np.random.RandomState(seed)
    protos = (rng.rand(3, n_features) < 0.5).astype(float)
    X = protos[rng.randint(0, 3, n)]
    return np.abs(X - (rng.rand(*X.shape) < 0.08))


def test_early_stopping_keeps_exactly_the_best_epoch():
    X = _prototype_data()
    kw = dict(n_components=4, learning_rate=0.1, early_stopping=True, random_state=0)
    stopped = BernoulliRBM(n_iter=200, n_iter_no_change=4, **kw).fit(X)
    curve = stopped.history_["validation_log_likelihood"]
    assert stopped.n_iter_ < 200  # it stopped
    assert stopped.n_iter_ == len(curve) == stopped.best_epoch_ + 4
    assert curve[stopped.best_epoch_ - 1] == curve.max()
    # the same training run up to the best epoch, without stopping: the same
    # split, random numbers and parameters, bit for bit
    replay = BernoulliRBM(n_iter=stopped.best_epoch_, n_iter_no_change=1000, **kw)
    replay.fit(X)
    np.testing.assert_array_equal(stopped.components_, replay.components_)
    np.testing.assert_array_equal(stopped.intercept_hidden_, replay.intercept_hidden_)
    np.testing.assert_array_equal(stopped.intercept_visible_, replay.intercept_visible_)
    # (power: one epoch fewer gives other parameters)
    short = BernoulliRBM(n_iter=stopped.best_epoch_ - 1, n_iter_no_change=1000, **kw)
    assert not np.array_equal(stopped.components_, short.fit(X).components_)


def test_tracked_estimate_follows_the_exact_held_out_likelihood(monkeypatch):
    # A model small enough to enumerate, scored once exactly and once with
    # the small AIS run used for larger models: training is the same (the
    # tracker draws no training random numbers), and the epoch-to-epoch
    # changes of the AIS curve follow the exact ones.
    X = _prototype_data()
    kw = dict(n_components=10, n_iter=25, learning_rate=0.05, random_state=0)
    kw.update(early_stopping=True, n_iter_no_change=1000)
    exact = BernoulliRBM(**kw).fit(X)
    monkeypatch.setattr(held_out, "TRACK_EXACT_COST", 0)
    tracked = BernoulliRBM(**kw).fit(X)
    np.testing.assert_array_equal(exact.components_, tracked.components_)
    e = exact.history_["validation_log_likelihood"]
    t = tracked.history_["validation_log_likelihood"]
    # measured: correlation 0.97 of the changes, levels within 0.05 nats (sd)
    assert np.corrcoef(np.diff(e), np.diff(t))[0, 1] > 0.9
    assert np.abs(t - e).mean() < 0.1
    # the curve moved by far more than that: the comparison has power
    assert e.max() - e.min() > 1.5


def test_gaussian_rbm_early_stopping_and_verbose_lines():
    X = np.random.RandomState(1).normal(size=(300, 5))
    model = GaussianBernoulliRBM(
        n_components=3, n_iter=50, early_stopping=True, n_iter_no_change=3
    )
    out = io.StringIO()
    with redirect_stdout(out):
        model.set_params(random_state=0, verbose=1).fit(X)
    lines = out.getvalue().splitlines()
    assert len(lines) == model.n_iter_ and "validation log likelihood" in lines[0]
    curve = model.history_["validation_log_likelihood"]
    assert np.isfinite(curve).all() and curve[model.best_epoch_ - 1] == curve.max()


def test_without_early_stopping_and_after_partial_fit():
    X = _prototype_data(n=100)
    plain = BernoulliRBM(n_components=3, n_iter=3, random_state=0).fit(X)
    assert plain.n_iter_ == 3 and plain.best_epoch_ is None
    assert "validation_log_likelihood" not in plain.history_
    model = BernoulliRBM(
        n_components=3, n_iter=3, early_stopping=True, n_iter_no_change=10
    ).set_params(random_state=0)
    model.fit(X).partial_fit(X)  # partial_fit does not hold rows out
    assert model.n_iter_ == 4
    curve = model.history_["validation_log_likelihood"]
    assert np.isfinite(curve[:3]).all() and np.isnan(curve[3])


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_validation_fraction_must_lie_strictly_between_0_and_1(fraction):
    with pytest.raises(ValueError, match="validation_fraction"):
        BernoulliRBM(early_stopping=True, validation_fraction=fraction).fit(
            _prototype_data(n=50)
        )
