"""Missing-value imputation with any skebm energy model."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.impute import MissingIndicator
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import FLOAT_DTYPES, check_is_fitted, validate_data

from ._base import _NoBoolParamsMixin, atomic_fit, draw_seed
from ._validation import in_unit_interval

#: Minibatch updates that ``max_iter="auto"`` aims at, and its bounds.
_AUTO_UPDATES, _AUTO_MIN_ROUNDS, _AUTO_MAX_ROUNDS = 15_000, 10, 100


def auto_rounds(n_samples, batch_size):
    """Rounds of ``max_iter="auto"``: ``ceil(15000 / n_minibatches)``
    clipped to [10, 100]."""
    n_batches = -(-int(n_samples) // max(int(batch_size), 1))
    rounds = -(-_AUTO_UPDATES // max(n_batches, 1))
    return int(min(max(rounds, _AUTO_MIN_ROUNDS), _AUTO_MAX_ROUNDS))


def _most_frequent(X, missing):
    """The most frequent observed value of each column (the smallest on
    ties), as float64."""
    out = np.empty(X.shape[1])
    for j in range(X.shape[1]):
        values, counts = np.unique(X[~missing[:, j], j], return_counts=True)
        out[j] = values[np.argmax(counts)]
    return out


def _is_nan_marker(value):
    return isinstance(value, Real) and bool(np.isnan(value))


class EnergyImputer(
    _NoBoolParamsMixin,
    OneToOneFeatureMixin,
    TransformerMixin,
    MetaEstimatorMixin,
    BaseEstimator,
):
    """Fill in missing values with an energy-based model of the whole row.

    Training fits the model to incomplete rows by stochastic fills: the
    missing entries start at their feature's mean and a clone of
    ``estimator`` is fitted to the filled data; then, ``max_iter`` times,
    the missing entries are re-drawn from the model given the observed ones
    (one step of :meth:`~BernoulliRBM.sample_conditional`) and the model
    trains one more epoch on the result (``partial_fit``; models without it
    are refitted). Drawing the fills from the model's conditional makes
    each epoch a stochastic step on the likelihood of the observed entries
    alone (a Monte Carlo EM). :meth:`transform` fills the missing entries
    of new rows deterministically: starting from the feature means, each of
    ``n_steps`` mean-field passes sets them to their conditional mean given
    the observed entries and the hidden units
    (``reconstruct(X, n_steps=n_steps, clamp=observed)``). Observed entries
    pass through unchanged.

    Parameters
    ----------
    estimator : estimator object, default=None
        A skebm energy model with ``fit``, ``reconstruct`` and
        ``sample_conditional``: :class:`BernoulliRBM`,
        :class:`GaussianBernoulliRBM`, :class:`CategoricalRBM`,
        :class:`DeepBeliefNetwork` or :class:`BoltzmannMachine`. It gets
        the data as they are (scale them first if the model needs it); a
        model of category codes (``CategoricalRBM``, tagged
        ``input_tags.categorical``) gets its missing entries started at
        each feature's most frequent code instead of its mean. ``None``
        (default) chooses by the observed training values: if they all lie
        in [0, 1], a
        :class:`BernoulliRBM` with 256 hidden units and learning rate 0.05;
        otherwise a :class:`GaussianBernoulliRBM` with 64 hidden units and
        learned variances (``learn_sigma=True``) on the features
        standardised with their observed means and standard deviations (the
        imputer scales and unscales them). Either has 100 persistent chains
        (``n_chains=100``) and first trains 10 epochs on the mean-filled
        data.
    missing_values : float, int or np.nan, default=np.nan
        The marker of a missing entry; all its occurrences are imputed.
    max_iter : int or "auto", default="auto"
        Training rounds after the first fit: each re-draws the missing
        training entries from the model and trains one more epoch (refits,
        for a model without ``partial_fit``). ``"auto"``: about 15 000
        minibatch updates in all, ``ceil(15000 / n_minibatches)`` rounds
        clipped to [10, 100] (100 for the digits' 1257 rows at the
        default model's 10 rows per minibatch; 10 from 15 000 rows on), so
        large data sets do not pay 100 epochs.
    n_steps : int, default=10
        Clamped mean-field passes per fill in :meth:`transform`.
    sample_posterior : bool, default=False
        If True, :meth:`transform` draws each fill from the model's
        conditional distribution of the missing entries given the observed
        ones instead of taking its mean: ``n_steps`` steps of clamped Gibbs
        sampling (``sample_conditional``) started from the mean-field fill.
        Successive calls give new draws (multiple imputation, as
        :class:`~sklearn.impute.IterativeImputer`'s ``sample_posterior``);
        binary units are filled with 0 or 1.
    add_indicator : bool, default=False
        If True, a :class:`~sklearn.impute.MissingIndicator` is stacked
        onto the output: one binary column per feature that had missing
        values in training (as scikit-learn's imputers).
    random_state : int, RandomState instance or None, default=None
        Seeds the default model (``estimator=None``) and the draws of the
        training fills: the same seed gives the same imputations. A given
        ``estimator`` keeps its own ``random_state`` for its training.

    Attributes
    ----------
    estimator_ : estimator object
        The model fitted in the last round.
    statistics_ : ndarray of shape (n_features,)
        Mean of the observed training values of each feature (for a model
        of category codes, the most frequent one, the smallest on ties):
        the starting value of a missing entry.
    random_state_ : RandomState instance
        The generator of the training draws, continued by the draws of
        :meth:`transform` when ``sample_posterior=True``.
    n_iter_ : int
        Training rounds run after the first fit (``max_iter``, or the
        number ``"auto"`` chose).
    indicator_ : MissingIndicator or None
        The fitted indicator when ``add_indicator=True``, else None.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when they are all strings.

    See Also
    --------
    sklearn.impute.IterativeImputer : Round-robin regression of each
        feature on the others.
    sklearn.impute.KNNImputer : The mean of the nearest rows.
    BernoulliRBM.reconstruct : The clamped mean-field pass used here.
    BernoulliRBM.sample_conditional : Stochastic fills (multiple
        imputation) by clamped Gibbs sampling.

    Notes
    -----
    For binary visible units the conditional mean of a missing entry is
    ``p(v_i = 1 | observed)``, a probability: threshold it at 0.5 for a
    binary fill. A feature with no observed training value cannot be
    modelled and raises ``ValueError`` in :meth:`fit`; a row with nothing
    observed is filled from the model alone.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm import EnergyImputer
    >>> rng = np.random.RandomState(0)
    >>> X = (rng.rand(200, 8) < 0.5).astype(float)
    >>> X[:, 4:] = X[:, :4]  # the second half repeats the first
    >>> X_missing = X.copy()
    >>> X_missing[rng.rand(200, 8) < 0.2] = np.nan
    >>> filled = EnergyImputer(random_state=0).fit_transform(X_missing)
    >>> bool(np.isnan(filled).any())
    False
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "reconstruct", "sample_conditional"]), None],
        "missing_values": [Real],
        "max_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "sample_posterior": ["boolean"],
        "add_indicator": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        missing_values=np.nan,
        max_iter="auto",
        n_steps=10,
        sample_posterior=False,
        add_indicator=False,
        random_state=None,
    ):
        self.estimator = estimator
        self.missing_values = missing_values
        self.max_iter = max_iter
        self.n_steps = n_steps
        self.sample_posterior = sample_posterior
        self.add_indicator = add_indicator
        self.random_state = random_state

    # ---------------------------------------------------------------- input
    def _validate(self, X, reset):
        nan = _is_nan_marker(self.missing_values)
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=FLOAT_DTYPES,
            ensure_all_finite="allow-nan" if nan else True,
        )
        # (NaN with another marker, and infinities, are refused above; X is
        # never written to)
        return X, np.isnan(X) if nan else X == self.missing_values

    # ---------------------------------------------------------------- model
    def _default_model(self, binary, seed):
        from ._rbm import BernoulliRBM, GaussianBernoulliRBM

        # 100 persistent chains rather than one per minibatch row: on the
        # digits of bench_restoration.py (seeds 0-7) 10 chains filled 30%
        # missing pixels with error 0.116 and 100 chains 0.112
        common = dict(n_iter=10, n_chains=100, random_state=seed)
        if binary:
            return BernoulliRBM(n_components=256, learning_rate=0.05, **common)
        return GaussianBernoulliRBM(n_components=64, learn_sigma=True, **common)

    def _to_model(self, X):
        return X if self._scale is None else (X - self._mean) / self._scale

    def _from_model(self, Z):
        return Z if self._scale is None else Z * self._scale + self._mean

    def _fill(self, model, Z, missing):
        return model.reconstruct(Z, n_steps=self.n_steps, clamp=~missing)

    def _train(self, model, Z, missing, rng):
        """Fit ``model`` to ``Z`` (missing entries mean-filled), then
        ``max_iter`` rounds of fills drawn from the model and one epoch;
        returns the model and the number of rounds."""
        model.fit(Z)
        n_rounds = self.max_iter
        if n_rounds == "auto":
            n_rounds = auto_rounds(len(Z), getattr(model, "batch_size", 10))
        for _ in range(n_rounds):
            seed = draw_seed(rng, numpy=True)
            Z = model.sample_conditional(Z, ~missing, n_steps=1, random_state=seed)
            if hasattr(model, "partial_fit"):
                model.partial_fit(Z)
            else:
                model.fit(Z)
        return model, n_rounds

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the model on ``X``, re-filling its missing entries between
        rounds.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, with missing entries marked by
            ``missing_values``.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : EnergyImputer
            The fitted imputer.
        """
        X, missing = self._validate(X, reset=True)
        empty = np.flatnonzero(missing.all(axis=0))
        if empty.size:
            raise ValueError(
                f"EnergyImputer cannot fill column(s) {empty.tolist()}: they "
                f"have no observed value in the training data. Drop them "
                f"first (or use sklearn.impute.SimpleImputer with "
                f"keep_empty_features=True)."
            )
        observed = np.where(missing, np.nan, X)
        self.statistics_ = np.nanmean(observed, axis=0)
        if (
            self.estimator is not None
            and get_tags(self.estimator).input_tags.categorical
        ):
            self.statistics_ = _most_frequent(X, missing)
        binary = in_unit_interval(X[~missing])
        self._mean = self._scale = None  # the default Gaussian model's scaling
        if self.estimator is None and not binary:
            self._mean = self.statistics_
            scale = np.nanstd(observed, axis=0)
            self._scale = np.where(scale > 0, scale, 1.0)
        self.indicator_ = None
        if self.add_indicator:
            self.indicator_ = MissingIndicator(
                missing_values=self.missing_values, error_on_new=False
            ).fit(X)
        rng = check_random_state(self.random_state)
        if self.estimator is None:
            model = self._default_model(binary, draw_seed(rng, numpy=True))
        else:
            model = clone(self.estimator)
        Z = self._to_model(np.where(missing, self.statistics_, X))
        self.estimator_, self.n_iter_ = self._train(model, Z, missing, rng)
        self.random_state_ = rng
        return self

    def transform(self, X):
        """Fill in the missing entries of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to complete, missing entries marked by ``missing_values``.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features + n_indicators)
            ``X`` with every missing entry replaced by the model's clamped
            mean-field estimate, or by a draw from its conditional
            distribution when ``sample_posterior=True`` (the observed
            entries unchanged), then the indicator columns when
            ``add_indicator=True``.
        """
        check_is_fitted(self)
        X, missing = self._validate(X, reset=False)
        start = self._to_model(np.where(missing, self.statistics_, X))
        filled = self._fill(self.estimator_, start, missing)
        if self.sample_posterior:
            seed = draw_seed(self.random_state_, numpy=True)
            filled = self.estimator_.sample_conditional(
                filled, ~missing, n_steps=self.n_steps, random_state=seed
            )
        filled = self._from_model(filled)
        out = np.where(missing, filled, X).astype(X.dtype, copy=False)
        if self.indicator_ is not None:
            indicator = self.indicator_.transform(X).astype(out.dtype)
            out = np.hstack([out, indicator])
        return out

    def get_feature_names_out(self, input_features=None):
        """Output feature names: the input's, then the indicator's.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; see
            :meth:`sklearn.base.OneToOneFeatureMixin.get_feature_names_out`.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The transformed feature names.
        """
        names = super().get_feature_names_out(input_features)
        if getattr(self, "indicator_", None) is None:
            return names
        return np.concatenate([names, self.indicator_.get_feature_names_out(names)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = _is_nan_marker(self.missing_values)
        return tags
