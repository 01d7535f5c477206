"""Supervised fine-tuning of a deep belief network (``DBNClassifier``).

The pretrained stack (``_dbn.DeepBeliefNetwork``) initialises sigmoid layers
that are fine-tuned with a softmax output layer by minibatch backpropagation
(the maths in ``_backprop``: vectorised NumPy over each minibatch, as in
scikit-learn's ``MLPClassifier``).
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, metadata_routing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._backprop import _forward, _glorot, _loss_and_gradients, _Optimizer
from ._base import (
    _NoBoolParamsMixin,
    atomic_fit,
    blas_pinned,
    check_parameters_finite,
)
from ._dbn import _RBM_CONSTRAINTS, _SEED_BOUND, DeepBeliefNetwork, _layer_sizes
from ._rbm import GaussianBernoulliRBM
from ._validation import check_no_overflow, check_unit_interval


def _check_label_types(y):
    """``ValueError`` for labels mixing strings and numbers, in
    scikit-learn's words (``unique_labels``), or holding None: sorting them
    would fail inside NumPy first."""
    if y.dtype != object:
        return
    if any(v is None for v in y.ravel()):
        raise ValueError("Labels in y must not be None.")
    if len({isinstance(v, str) for v in y.ravel()}) > 1:
        raise ValueError("Mix of label input types (string and number) in y.")


class DBNClassifier(_NoBoolParamsMixin, ClassifierMixin, BaseEstimator):
    """Deep belief network classifier: greedy pretraining, then backprop.

    :meth:`fit` first trains a :class:`DeepBeliefNetwork` on X without the
    labels (unless ``pretrain=False``), then turns it into a feed-forward
    network: hidden layer ``l`` computes ``sigmoid(h_{l-1} @ coefs_[l-1] +
    intercepts_[l-1])``, initialised from the layer's RBM
    (``coefs_[l-1] = components_.T``, ``intercepts_[l-1] =
    intercept_hidden_``), and a softmax output layer is added on top. The
    whole network is then fine-tuned by minibatch backpropagation of the
    cross-entropy with an L2 penalty, like
    :class:`~sklearn.neural_network.MLPClassifier` (whose parameter names
    are used for the fine-tuning).

    Parameters
    ----------
    hidden_layer_sizes : array-like of int or int, default=(256, 128)
        Number of hidden units of each layer, bottom first.
    visible : {"bernoulli", "gaussian"}, default="bernoulli"
        Visible units of the first RBM: data in [0, 1], or real-valued
        (standardised) data.
    pretrain : bool, default=True
        Pretrain the hidden layers as a :class:`DeepBeliefNetwork`. If
        False they start from scikit-learn's random initialisation for
        logistic units instead: compare the two to measure what pretraining
        buys.
    pretrain_learning_rate : float or "auto", default="auto"
        ``learning_rate`` of the RBMs (``"auto"``: each RBM's default).
    pretrain_batch_size : int, default=10
        ``batch_size`` of the RBMs.
    pretrain_n_iter : int, default=30
        ``n_iter`` (epochs) of each RBM (three times the RBMs' own default:
        on digits, longer pretraining gave better initial weights).
    pretrain_k : int, default=1
        ``k`` (Gibbs steps per minibatch) of the RBMs.
    pretrain_persistent : bool, default=True
        ``persistent`` of the RBMs.
    pretrain_n_chains : int or None, default=None
        ``n_chains`` of the RBMs.
    pretrain_momentum : float, default=0.0
        ``momentum`` of the RBMs.
    pretrain_weight_decay : float, default=0.0
        ``weight_decay`` of the RBMs.
    solver : {"adam", "sgd"}, default="adam"
        Fine-tuning optimiser: Adam (beta_1=0.9, beta_2=0.999,
        epsilon=1e-8), or SGD with classical momentum.
    alpha : float, default=1e-4
        L2 penalty on the weights during fine-tuning.
    batch_size : int or "auto", default="auto"
        Fine-tuning minibatch size; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate_init : float, default=0.001
        Fine-tuning step size (constant).
    max_iter : int, default=500
        Maximum number of fine-tuning epochs (fine-tuning the pretrained
        stack on digits took 300-320 epochs to converge).
    shuffle : bool, default=True
        Shuffle the training rows at each fine-tuning epoch.
    tol : float, default=1e-4
        Improvement of the training loss (or of the validation accuracy
        with ``early_stopping``) below which an epoch counts as no
        improvement.
    momentum : float, default=0.9
        Momentum of the ``"sgd"`` solver, in [0, 1).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified)
        and stop when its accuracy has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; the best weights are kept. The held-out
        rows are still used for pretraining, which ignores labels.
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping.
    n_iter_no_change : int, default=10
        Epochs without improvement before fine-tuning stops.
    random_state : int, RandomState instance or None, default=None
        ``fit`` draws, in this order: the seed of the
        :class:`DeepBeliefNetwork` (``randint(2**31 - 1)``), the random
        initial weights (output layer; all layers when ``pretrain=False``),
        the validation split and the shuffling.
    verbose : int, default=0
        If positive, print the pretraining progress and the loss of each
        fine-tuning epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    dbn_ : DeepBeliefNetwork or None
        The pretrained network before fine-tuning (None when
        ``pretrain=False``).
    coefs_ : list of ndarray
        Fine-tuned weights; ``coefs_[l]`` has shape ``(n_units_l,
        n_units_{l+1})``, the last one maps to the ``n_classes`` outputs.
    intercepts_ : list of ndarray
        Fine-tuned biases, one per layer above the input.
    loss_curve_ : list of float
        Training loss after each fine-tuning epoch.
    best_loss_ : float or None
        Lowest training loss (None with ``early_stopping``).
    validation_scores_ : list of float or None
        Held-out accuracy after each epoch (None without
        ``early_stopping``).
    best_validation_score_ : float or None
        Best held-out accuracy (None without ``early_stopping``).
    n_iter_ : int
        Number of fine-tuning epochs run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when they are all strings.

    See Also
    --------
    DeepBeliefNetwork : The pretraining stage on its own (a transformer).
    sklearn.neural_network.MLPClassifier : The same network, randomly
        initialised.

    Notes
    -----
    ``fit(X, y, X_unlabeled=...)`` pretrains on extra rows that have no
    label: the semi-supervised regime where pretraining helps most. Like
    :class:`~sklearn.neural_network.MLPClassifier`, a ``ConvergenceWarning``
    says when fine-tuning stopped at ``max_iter`` while still improving.

    References
    ----------
    .. [1] Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the
       dimensionality of data with neural networks. Science 313(5786).
    .. [2] Erhan, D. et al. (2010). Why does unsupervised pre-training help
       deep learning? JMLR 11.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skebm import DBNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DBNClassifier(hidden_layer_sizes=(32,), pretrain_n_iter=2,
    ...                     max_iter=20, random_state=0).fit(X / 16, y)
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    # ``X_unlabeled`` is an extra input, not per-sample metadata to route (it
    # has its own rows): no ``set_fit_request`` for it.
    __metadata_request__fit = {"X_unlabeled": metadata_routing.UNUSED}

    _parameter_constraints: dict = {
        **_RBM_CONSTRAINTS,
        "pretrain": ["boolean"],
        "pretrain_learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "pretrain_batch_size": [Interval(Integral, 1, None, closed="left")],
        "pretrain_n_iter": [Interval(Integral, 0, None, closed="left")],
        "pretrain_k": [Interval(Integral, 1, None, closed="left")],
        "pretrain_persistent": ["boolean"],
        "pretrain_n_chains": [Interval(Integral, 1, None, closed="left"), None],
        "pretrain_momentum": [Interval(Real, 0, 1, closed="left")],
        "pretrain_weight_decay": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"adam", "sgd"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 128),
        *,
        visible="bernoulli",
        pretrain=True,
        pretrain_learning_rate="auto",
        pretrain_batch_size=10,
        pretrain_n_iter=30,
        pretrain_k=1,
        pretrain_persistent=True,
        pretrain_n_chains=None,
        pretrain_momentum=0.0,
        pretrain_weight_decay=0.0,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=0.001,
        max_iter=500,
        shuffle=True,
        tol=1e-4,
        momentum=0.9,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible = visible
        self.pretrain = pretrain
        self.pretrain_learning_rate = pretrain_learning_rate
        self.pretrain_batch_size = pretrain_batch_size
        self.pretrain_n_iter = pretrain_n_iter
        self.pretrain_k = pretrain_k
        self.pretrain_persistent = pretrain_persistent
        self.pretrain_n_chains = pretrain_n_chains
        self.pretrain_momentum = pretrain_momentum
        self.pretrain_weight_decay = pretrain_weight_decay
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.tol = tol
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.verbose = verbose

    def _dbn(self, seed):
        return DeepBeliefNetwork(
            self.hidden_layer_sizes,
            visible=self.visible,
            learning_rate=self.pretrain_learning_rate,
            batch_size=self.pretrain_batch_size,
            n_iter=self.pretrain_n_iter,
            k=self.pretrain_k,
            persistent=self.pretrain_persistent,
            n_chains=self.pretrain_n_chains,
            momentum=self.pretrain_momentum,
            weight_decay=self.pretrain_weight_decay,
            random_state=seed,
            verbose=self.verbose,
        )

    def _validate_X(self, X, *, reset):
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        return self._check_values(X, reset)

    def _check_values(self, X, reset=True):
        """X, checked against the first layer's domain: [0, 1] for
        ``visible="bernoulli"`` (with or without pretraining)."""
        if self.visible == "bernoulli":
            return check_unit_interval(X, type(self).__name__, fitting=reset)
        return X

    @atomic_fit
    @blas_pinned
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, X_unlabeled=None):
        """Pretrain (without labels), then fine-tune on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (in [0, 1] for ``visible="bernoulli"``).
        y : array-like of shape (n_samples,)
            Class labels.
        X_unlabeled : {array-like, sparse matrix} of shape (n_unlabeled, \
n_features), default=None
            Extra rows without labels, used by the pretraining only
            (ignored when ``pretrain=False``).

        Returns
        -------
        self : object
            The fitted classifier.
        """
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
        )
        X = self._check_values(X)
        _check_label_types(y)
        check_classification_targets(y)
        sizes = _layer_sizes(self.hidden_layer_sizes)
        classes, y_index = np.unique(y, return_inverse=True)
        rng = check_random_state(self.random_state)
        dbn_seed = int(rng.randint(_SEED_BOUND))
        coefs, intercepts, dbn = [], [], None
        if self.pretrain:
            X_pre = X
            if X_unlabeled is not None:
                X_extra = self._validate_X(X_unlabeled, reset=False)
                if sp.issparse(X) or sp.issparse(X_extra):
                    X_pre = sp.vstack([X, X_extra], format="csr")
                else:
                    X_pre = np.vstack([X, X_extra.astype(X.dtype, copy=False)])
            dbn = self._dbn(dbn_seed).fit(X_pre)
            for rbm in dbn.rbms_:
                W = rbm.components_.astype(np.float64).T
                if isinstance(rbm, GaussianBernoulliRBM):
                    W = W / rbm.sigma_[:, None]  # its input is v / sigma
                coefs.append(np.ascontiguousarray(W))
                intercepts.append(rbm.intercept_hidden_.astype(np.float64))
        else:
            for n_in, n_out in zip([X.shape[1]] + sizes[:-1], sizes):
                W, b = _glorot(rng, n_in, n_out)
                coefs.append(W)
                intercepts.append(b)
        W, b = _glorot(rng, sizes[-1], len(classes))
        coefs.append(W)
        intercepts.append(b)

        X = X.astype(np.float64, copy=False)
        Y = np.zeros((X.shape[0], len(classes)))
        Y[np.arange(X.shape[0]), y_index] = 1.0
        X_val = y_val = None
        if self.early_stopping:
            stratify = y_index if np.bincount(y_index).min() > 1 else None
            X, X_val, Y, y_val = train_test_split(
                X,
                Y,
                test_size=self.validation_fraction,
                random_state=rng.randint(_SEED_BOUND),
                stratify=stratify,
            )
            y_val = y_val.argmax(axis=1)
        self._fine_tune(X, Y, coefs, intercepts, rng, X_val, y_val)
        self.classes_ = classes
        self.dbn_ = dbn
        return self

    def _fine_tune(self, X, Y, coefs, intercepts, rng, X_val, y_val):
        """Minibatch backpropagation; sets the fine-tuning attributes."""
        n = X.shape[0]
        batch = min(200, n) if self.batch_size == "auto" else min(self.batch_size, n)
        optimizer = _Optimizer(
            coefs + intercepts, self.solver, self.learning_rate_init, self.momentum
        )
        name = type(self).__name__
        loss_curve, validation_scores = [], []
        best_loss, best_score, best_params, no_improvement = np.inf, -np.inf, None, 0
        order = np.arange(n)
        for epoch in range(1, self.max_iter + 1):
            if self.shuffle:
                order = rng.permutation(n)
            total = 0.0
            for start in range(0, n, batch):
                rows = order[start : start + batch]
                loss, coef_grads, intercept_grads = _loss_and_gradients(
                    X[rows], Y[rows], coefs, intercepts, self.alpha
                )
                total += loss * len(rows)
                optimizer.step(coef_grads + intercept_grads)
            check_parameters_finite(
                name,
                epoch,
                **{f"coefs_[{i}]": W for i, W in enumerate(coefs)},
                **{f"intercepts_[{i}]": b for i, b in enumerate(intercepts)},
            )
            loss_curve.append(total / n)
            if self.verbose:
                print(f"[{name}] Iteration {epoch}, loss = {loss_curve[-1]:.8f}")
            if self.early_stopping:
                log_p = _forward(X_val, coefs, intercepts)[-1]
                score = float(np.mean(log_p.argmax(axis=1) == y_val))
                validation_scores.append(score)
                no_improvement = (
                    0 if score >= best_score + self.tol else no_improvement + 1
                )
                if score > best_score:
                    best_score = score
                    best_params = [p.copy() for p in coefs + intercepts]
            else:
                improved = loss_curve[-1] <= best_loss - self.tol
                no_improvement = 0 if improved else no_improvement + 1
                best_loss = min(best_loss, loss_curve[-1])
            if no_improvement >= self.n_iter_no_change:
                break
        else:
            warnings.warn(
                f"{name}: fine-tuning stopped at max_iter={self.max_iter} "
                f"epochs before it converged (the loss, or the validation "
                f"score, still improved by more than tol within the last "
                f"n_iter_no_change epochs). Raise max_iter.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if self.early_stopping:
            coefs = best_params[: len(coefs)]
            intercepts = best_params[len(coefs) :]
        self.coefs_ = coefs
        self.intercepts_ = intercepts
        self.loss_curve_ = loss_curve
        self.n_iter_ = epoch
        self.best_loss_ = None if self.early_stopping else float(best_loss)
        self.validation_scores_ = validation_scores if self.early_stopping else None
        self.best_validation_score_ = best_score if self.early_stopping else None

    @blas_pinned
    def predict_proba(self, X):
        """Class probabilities (softmax output of the fine-tuned network).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, columns in the order of
            ``classes_`` (``ValueError`` for input beyond float64's range,
            as :meth:`predict_log_proba`).
        """
        return np.exp(self.predict_log_proba(X))

    @blas_pinned
    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class (computed stably). Finite input
            so large that the first layer's input overflows float64 raises
            ``ValueError``; nothing returned is NaN.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False).astype(np.float64, copy=False)
        log_proba = _forward(X, self.coefs_, self.intercepts_)[-1]
        return check_no_overflow(log_proba, type(self).__name__)

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_log_proba(X), axis=1)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on the given test data and labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True labels for ``X``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` with respect to ``y``.
        """
        _check_label_types(np.asarray(y, dtype=object))
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = self.visible == "bernoulli"
        return tags
