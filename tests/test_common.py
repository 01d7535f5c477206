"""scikit-learn's estimator checks over every public skebm estimator.

BernoulliRBM rejects data outside [0, 1] (its units are binary), but many of
scikit-learn's checks generate data with values above 1.  So each estimator
with such a domain is checked twice:

1. as it is, where exactly the checks that feed out-of-range data are
   expected to fail (and nothing else);
2. as a test-only subclass whose domain check is switched off, where *every*
   check must pass: that proves the rest of the contract (fit/transform,
   pickling, dtype, invariances of ``score_samples`` ...) holds.
"""

import inspect

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import validate_data

import skebm

# Small, fast instances: the checks fit many times.
_FAST_PARAMS = {
    "BernoulliRBM": dict(
        n_components=8, n_iter=3, n_ais_chains=16, n_ais_temperatures=50
    ),
    "BoltzmannMachine": dict(
        n_hidden=2, n_iter=3, n_ais_chains=16, n_ais_temperatures=50
    ),
    "CategoricalRBM": dict(
        n_components=4, n_iter=3, n_ais_chains=16, n_ais_temperatures=50
    ),
    # Gaussian first layer: the checks feed real values (the Bernoulli
    # default is checked in tests/test_dbn.py with the domain check off).
    "DBNClassifier": dict(
        hidden_layer_sizes=(8, 6),
        visible="gaussian",
        pretrain_n_iter=2,
        learning_rate_init=0.01,
    ),
    "DeepBeliefNetwork": dict(hidden_layer_sizes=(6, 4), visible="gaussian", n_iter=2),
    "DeepBoltzmannMachine": dict(
        hidden_layer_sizes=(6, 4),
        n_iter=2,
        pretrain_n_iter=1,
        n_chains=10,
        n_ais_chains=16,
        n_ais_temperatures=50,
    ),
    "GaussianBernoulliRBM": dict(
        n_components=8, n_iter=3, n_ais_chains=16, n_ais_temperatures=50
    ),
    "EnergyOutlierDetector": dict(
        estimator=skebm.GaussianBernoulliRBM(
            n_components=4,
            n_iter=2,
            n_ais_chains=16,
            n_ais_temperatures=50,
            random_state=0,  # the checks only seed top-level random_state
        )
    ),
    "EnergyDensity": dict(
        hidden_layer_sizes=(4,), n_iter=2, n_ais_chains=16, n_ais_temperatures=50
    ),
    "EnergyImputer": dict(
        estimator=skebm.GaussianBernoulliRBM(n_components=4, n_iter=2, random_state=0),
        max_iter=2,
    ),
    "HopfieldNetwork": dict(max_iter=20),
    "ModernHopfieldNetwork": dict(max_iter=20),
}

# Checks whose generated X has values greater than 1.
_OUT_OF_UNIT_INTERVAL = [
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_estimators_dtypes",
    "check_pipeline_consistency",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
]
_UNIT_INTERVAL_ESTIMATORS = {"BernoulliRBM", "BoltzmannMachine", "DeepBoltzmannMachine"}
_DOMAIN_CHECKS = ["check_positive_only_tag_during_fit", "check_fit_non_negative"]

# HopfieldNetwork stores only binary {0, 1} or bipolar {-1, +1} patterns (no
# scikit-learn tag says so): these checks feed it other values. Its
# domain-free test variant maps x > 0 to +1 and the rest to -1 instead.
_NOT_BINARY = _OUT_OF_UNIT_INTERVAL + [
    "check_fit_score_takes_y",
    "check_positive_only_tag_during_fit",
    "check_dtype_object",
    "check_estimators_nan_inf",
]
_BINARY_ESTIMATORS = {"HopfieldNetwork"}
# ``max_iter`` of the Hopfield networks bounds the recall dynamics of each
# transform call, not fit (storing patterns is one closed-form step), so
# there is no ``n_iter_``: per-row counts come from recall(return_n_iter=True).
_RECALL_MAX_ITER = {"HopfieldNetwork", "ModernHopfieldNetwork"}
_RECALL_REASON = "max_iter bounds recall, not fit: no n_iter_ after fit"


def _recall_max_iter(estimator):
    return any(c.__name__ in _RECALL_MAX_ITER for c in type(estimator).__mro__)


def all_estimators():
    """Every public estimator class exported by skebm (discovered)."""
    out = []
    for name in skebm.__all__:
        obj = getattr(skebm, name)
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
            out.append(obj)
    return out


# Checked a second time in another configuration: the default, fully
# visible Boltzmann machine (no hidden units, so no hidden features).
_SECOND_PARAMS = {
    "BoltzmannMachine": dict(
        n_hidden=0, n_iter=3, n_ais_chains=16, n_ais_temperatures=50
    ),
}


def _instances():
    first = [cls(**_FAST_PARAMS.get(cls.__name__, {})) for cls in all_estimators()]
    return first + [getattr(skebm, n)(**p) for n, p in _SECOND_PARAMS.items()]


# The domain-free variants override private hooks: no public parameter
# switches a domain check off, and feeding the checks rescaled data (a
# Pipeline) would check the Pipeline instead of the estimator's own
# validation, feature names and dtypes. ``_check_values`` is the domain check
# alone (run after ``validate_data``), so overriding it re-implements nothing.
class BernoulliRBMAnyRange(skebm.BernoulliRBM):
    """Test-only variant with the [0, 1] domain check switched off (module
    level, so pickling checks can find it)."""

    _binary_visible = False  # nor do its scores warn on non-binary data

    def _check_values(self, X, reset=True):
        return X


_DOMAIN_FREE = {"BernoulliRBM": BernoulliRBMAnyRange}


class BoltzmannMachineAnyRange(skebm.BoltzmannMachine):
    """Test-only variant with the [0, 1] domain check switched off."""

    _binary_visible = False  # nor do its scores warn on non-binary data

    def _check_values(self, X, reset=True):
        return X


_DOMAIN_FREE["BoltzmannMachine"] = BoltzmannMachineAnyRange


class DeepBoltzmannMachineAnyRange(skebm.DeepBoltzmannMachine):
    """Test-only variant with the [0, 1] domain check switched off."""

    _binary_visible = False  # nor do its scores warn on non-binary data

    def _check_values(self, X, reset=True):
        return X


_DOMAIN_FREE["DeepBoltzmannMachine"] = DeepBoltzmannMachineAnyRange


class HopfieldNetworkAnySign(skebm.HopfieldNetwork):
    """Test-only variant that accepts any real X: x > 0 becomes +1, the rest
    -1 (bipolar encoding), instead of rejecting non-binary values."""

    # ``_bipolar`` is the smallest hook: it validates X and detects the
    # encoding in one step. Mapping X before super()._bipolar would validate
    # twice (a second reset drops feature_names_in_, reset=False warns about
    # missing names), and wrapping every public method would redo validation
    # for each; so this one line of validation is repeated here.
    def _bipolar(self, X, *, reset):
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=reset)
        return X, np.where(X > 0, 1.0, -1.0), "bipolar"


_DOMAIN_FREE["HopfieldNetwork"] = HopfieldNetworkAnySign


def _domain_free_instances():
    names = {cls.__name__ for cls in all_estimators()}
    assert _UNIT_INTERVAL_ESTIMATORS | _BINARY_ESTIMATORS <= names
    names = sorted(_UNIT_INTERVAL_ESTIMATORS | _BINARY_ESTIMATORS)
    return [_DOMAIN_FREE[name](**_FAST_PARAMS[name]) for name in names] + [
        _DOMAIN_FREE[name](**params) for name, params in _SECOND_PARAMS.items()
    ]


def _expected_failed_checks(estimator):
    if type(estimator).__name__ in _UNIT_INTERVAL_ESTIMATORS:
        reason = "the check feeds values > 1; the estimator's units are binary"
        return {name: reason for name in _OUT_OF_UNIT_INTERVAL}
    if type(estimator).__name__ in _BINARY_ESTIMATORS:
        reason = "the check feeds values other than {0, 1} or {-1, +1}"
        return {
            **{name: reason for name in _NOT_BINARY},
            "check_transformer_n_iter": _RECALL_REASON,
        }
    if _recall_max_iter(estimator):
        return {"check_transformer_n_iter": _RECALL_REASON}
    return {}


def _expected_failed_domain_free(estimator):
    reason = "asserts the domain check that this test-only variant switches off"
    if _recall_max_iter(estimator):
        # HopfieldNetworkAnySign: it has no positive_only tag to assert
        return {"check_transformer_n_iter": _RECALL_REASON}
    return {name: reason for name in _DOMAIN_CHECKS}


def test_every_estimator_has_fast_params():
    assert all_estimators(), "no estimator discovered"
    for cls in all_estimators():
        assert cls.__name__ in _FAST_PARAMS, cls.__name__


# Small max_iter: DBNClassifier warns, as MLPClassifier does, that it
# stopped before converging.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(_instances(), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# Small max_iter: DBNClassifier warns, as MLPClassifier does, that it
# stopped before converging.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    _domain_free_instances(), expected_failed_checks=_expected_failed_domain_free
)
def test_sklearn_compatible_without_domain_check(estimator, check):
    check(estimator)
