"""Restricted Boltzmann machines: binary or Gaussian visible units, binary
hidden units. The shared machinery is in ``_rbm_base``."""

import numpy as np

from ._base import blas_pinned
from ._rbm_base import _BaseRBM
from ._validation import check_unit_interval


class BernoulliRBM(_BaseRBM):
    """Bernoulli restricted Boltzmann machine, trained by CD-k or PCD-k.

    A drop-in replacement for :class:`sklearn.neural_network.BernoulliRBM`
    (same parameters, defaults and fitted attributes) whose training runs in
    compiled whole-epoch kernels, with CD-k / persistent CD-k, momentum and
    weight decay, and whose :meth:`score_samples` is the log-probability of
    each sample (not a stochastic pseudo-likelihood).

    The model is the energy

    .. math:: E(v, h) = -b^\\top v - c^\\top h - h^\\top W v,
              \\qquad p(v) = \\frac{1}{Z} \\sum_h e^{-E(v, h)}

    over binary visible units ``v`` (``n_features``) and binary hidden units
    ``h`` (``n_components``), with ``W = components_``,
    ``b = intercept_visible_`` and ``c = intercept_hidden_``.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.
    learning_rate : float, default=0.1
        Step size of the gradient updates (the gradient is averaged over the
        minibatch). Reasonable values lie in 10**[0, -3].
    batch_size : int, default=10
        Number of examples per minibatch (and of persistent chains, unless
        ``n_chains`` says otherwise).
    n_iter : int, default=10
        Number of epochs (passes over the training data).
    verbose : int, default=0
        If positive, print one line per epoch: pseudo-log-likelihood,
        reconstruction error and time (also recorded in ``history_``).
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation (drawn exactly as scikit-learn
        draws it), the Gibbs chains and the log-partition estimate. Results
        depend only on this seed, not on the number of threads.
    k : int, default=1
        Number of block-Gibbs steps per minibatch in the negative phase.
    persistent : bool, default=True
        If True, the negative-phase chains persist across minibatches and
        epochs (PCD / stochastic maximum likelihood, as scikit-learn). If
        False, they restart from the data each minibatch (CD-k).
    n_chains : int or None, default=None
        Number of persistent chains, independent of ``batch_size``: the
        negative phase of every minibatch averages over all of them. More
        chains give a less noisy gradient at the same minibatch size.
        ``None`` is one chain per minibatch row (``batch_size`` chains), as
        scikit-learn. Only used when ``persistent=True``.
    sampler : {"gibbs", "pt"}, default="gibbs"
        How the persistent chains move: ``"gibbs"``, ``k`` block-Gibbs
        steps per minibatch (scikit-learn's algorithm); ``"pt"``, parallel
        tempering: every chain gets ``n_temperatures - 1`` companions at
        higher temperatures, and after every Gibbs step neighbouring
        temperatures try to swap states, so that states found by the
        hot, fast-mixing chains reach the ``beta = 1`` chains of the
        gradient. Needs ``persistent=True``; the negative phase costs
        about ``n_temperatures`` times as much.
    n_temperatures : int, default=10
        Temperatures of ``sampler="pt"``, including ``beta = 1``: inverse
        temperatures evenly spaced from 1 down to ``1 / n_temperatures``.
    momentum : float, default=0.0
        Momentum of the parameter updates, in [0, 1).
    weight_decay : float, default=0.0
        L2 penalty on ``components_`` (not on the intercepts).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows passed to :meth:`fit`,
        score the model on them after every epoch (mean ``log p(v)``; exact
        when ``log Z`` is cheap to enumerate, else tracked by a small AIS
        run with the same random numbers every epoch), stop when
        ``n_iter_no_change`` epochs in a row have not improved on the best
        by more than ``tol``, and keep the best epoch's parameters. Like
        :class:`~sklearn.neural_network.MLPClassifier`'s, it applies to
        :meth:`fit` only.
    validation_fraction : float, default=0.1
        Fraction of the rows held out when ``early_stopping`` is True.
    n_iter_no_change : int, default=10
        Epochs without an improvement of more than ``tol`` before training
        stops (``early_stopping=True``).
    tol : float, default=1e-4
        Improvement of the held-out log-likelihood, in nats per sample, that
        counts (``early_stopping=True``).
    log_partition : {"auto", "exact", "ais"} or None, default="auto"
        How ``log Z`` is computed for :meth:`score_samples`, on the first
        call that needs it after ``fit``/``partial_fit`` (training itself
        never pays for it). ``"exact"`` enumerates the smaller layer (at
        most 20 units); ``"ais"`` uses annealed importance sampling;
        ``"auto"`` is exact when that is cheap (smaller layer of at most 20
        units and ``2**n_small * n_large <= 2**25``), else AIS. ``None``
        skips it: :meth:`score_samples` and :meth:`score` are then
        unavailable (use :meth:`free_energy`).
    n_ais_chains : int, default=100
        Number of AIS runs.
    n_ais_temperatures : int, default=1000
        Number of intermediate distributions per AIS run.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weight matrix ``W``.
    intercept_hidden_ : ndarray of shape (n_components,)
        Biases of the hidden units.
    intercept_visible_ : ndarray of shape (n_features,)
        Biases of the visible units.
    n_iter_ : int
        Number of epochs run so far (by :meth:`fit` and the
        :meth:`partial_fit` calls after it).
    best_epoch_ : int or None
        With ``early_stopping``, the epoch whose parameters were kept (the
        best held-out log-likelihood, ``history_["validation_log_likelihood"]``);
        None otherwise.
    h_samples_ : ndarray of shape (n_chains, n_components)
        Hidden states of the persistent chains (continued by
        :meth:`partial_fit`; ``batch_size`` of them when ``n_chains`` is
        None, and if their number changed since fit, the existing ones are
        repeated or truncated). With ``sampler="pt"``, ``n_chains *
        n_temperatures`` rows: the chains at ``beta = 1`` first, then those
        of each lower inverse temperature in turn. With ``persistent=False``
        there are none, and it keeps its initial zeros.
    log_partition_ : float or None
        ``log Z`` in nats (None when ``log_partition=None``), computed on
        first access (or the first :meth:`score_samples`) after training.
    log_partition_stderr_ : float or None
        Standard error of ``log_partition_`` (0.0 when exact).
    log_partition_method_ : {"exact", "ais"} or None
        How ``log_partition_`` was obtained.
    history_ : dict of ndarray
        One entry per epoch: ``epoch``, ``pseudo_log_likelihood`` (the
        deterministic version of scikit-learn's proxy, on at most 256
        training rows), ``reconstruction_error`` (mean squared error of the
        mean-field reconstruction on the same rows) and ``time`` (seconds);
        with ``sampler="pt"`` also ``swap_acceptance``, of shape (n_epochs,
        n_temperatures - 1): the fraction of accepted swaps per pair of
        neighbouring temperatures, coldest pair first.
    random_state_ : RandomState
        Generator that seeds later :meth:`partial_fit` and :meth:`gibbs`
        calls.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when they are all strings.

    See Also
    --------
    sklearn.neural_network.BernoulliRBM : The scikit-learn estimator this
        replaces.
    skebm.partition.ais_log_partition : Re-estimate ``log Z`` of a fitted RBM.

    Notes
    -----
    Training statistics follow scikit-learn's SML implementation: positive
    phase with hidden probabilities, negative phase with ``batch_size``
    persistent chains that keep hidden samples between minibatches. Values
    of ``X`` in (0, 1) are accepted (as probabilities) for training and
    transforming; :meth:`score_samples` is a log-probability only for binary
    rows.

    References
    ----------
    .. [1] Hinton, G. E. (2002). Training products of experts by minimizing
       contrastive divergence. Neural Computation 14(8).
    .. [2] Tieleman, T. (2008). Training restricted Boltzmann machines using
       approximations to the likelihood gradient. ICML.
    .. [3] Salakhutdinov, R. and Murray, I. (2008). On the quantitative
       analysis of deep belief networks. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm import BernoulliRBM
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> model = BernoulliRBM(n_components=2, random_state=0).fit(X)
    >>> model.transform(X).shape
    (4, 2)
    >>> bool(np.all(model.score_samples(X) < 0))
    True
    """

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        k=1,
        persistent=True,
        n_chains=None,
        sampler="gibbs",
        n_temperatures=10,
        momentum=0.0,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        log_partition="auto",
        n_ais_chains=100,
        n_ais_temperatures=1000,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.k = k
        self.persistent = persistent
        self.n_chains = n_chains
        self.sampler = sampler
        self.n_temperatures = n_temperatures
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.log_partition = log_partition
        self.n_ais_chains = n_ais_chains
        self.n_ais_temperatures = n_ais_temperatures

    _binary_visible = True

    def _check_values(self, X, reset=True):
        return check_unit_interval(X, type(self).__name__, fitting=reset)

    @blas_pinned
    def gibbs(self, v):
        """Perform one block-Gibbs step ``v -> h -> v'``.

        Successive calls continue the generator ``random_state_`` set by
        ``fit``, so a loop of calls runs a Markov chain.

        Parameters
        ----------
        v : {array-like, sparse matrix} of shape (n_samples, n_features)
            Values of the visible layer to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features), dtype bool
            Visible samples after one Gibbs step (boolean, as scikit-learn).
        """
        return self._one_gibbs_step(v).astype(bool)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags


class GaussianBernoulliRBM(_BaseRBM):
    """Restricted Boltzmann machine with Gaussian visible units.

    Real-valued visible units ``v`` (``n_features``, standardised data
    expected) and binary hidden units ``h`` (``n_components``), with the
    energy (Hinton 2012, section 13.2)

    .. math:: E(v, h) = \\sum_i \\frac{(v_i - a_i)^2}{2 \\sigma_i^2}
              - c^\\top h - \\sum_{ij} h_j W_{ji} \\frac{v_i}{\\sigma_i},
              \\qquad p(v) = \\frac{1}{Z} \\sum_h e^{-E(v, h)}

    where ``W = components_``, ``a = intercept_visible_``,
    ``c = intercept_hidden_`` and ``sigma = sigma_``. Given ``h``, each
    ``v_i`` is normal with mean ``a_i + sigma_i (hW)_i`` and standard
    deviation ``sigma_i``; given ``v``, ``p(h_j = 1 | v) = sigmoid(c_j +
    W_j · (v / sigma))``. Trained by the same whole-epoch CD-k / PCD-k
    kernels as :class:`BernoulliRBM`. :meth:`score_samples` is the log
    *density* of each sample in nats, exact when ``n_components <= 20``
    (the Gaussian integral over ``v`` is closed form), else from AIS.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.
    learning_rate : float, default=0.01
        Step size of the gradient updates (averaged over the minibatch).
        Ten times smaller than :class:`BernoulliRBM`'s default: Gaussian
        units have unbounded values, and larger steps diverge on
        standardised data (Hinton 2012, section 13.2).
    batch_size : int, default=10
        Number of examples per minibatch (and of persistent chains, unless
        ``n_chains`` says otherwise).
    n_iter : int, default=10
        Number of epochs.
    verbose : int, default=0
        If positive, print one line per epoch: reconstruction error and
        time (also recorded in ``history_``).
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the Gibbs chains and the
        log-partition estimate. Results depend only on this seed.
    k : int, default=1
        Number of block-Gibbs steps per minibatch in the negative phase.
    persistent : bool, default=True
        Persistent chains (PCD) if True, CD-k from the data if False.
    n_chains : int or None, default=None
        Number of persistent chains, independent of ``batch_size`` (see
        :class:`BernoulliRBM`); ``None`` is ``batch_size`` chains. Only
        used when ``persistent=True``.
    sampler : {"gibbs", "pt"}, default="gibbs"
        Block Gibbs, or parallel tempering (see :class:`BernoulliRBM`). A
        Gaussian unit at inverse temperature ``beta`` has variance
        ``sigma_i² / beta``.
    n_temperatures : int, default=10
        Temperatures of ``sampler="pt"`` (see :class:`BernoulliRBM`).
    momentum : float, default=0.0
        Momentum of the parameter updates, in [0, 1).
    weight_decay : float, default=0.0
        L2 penalty on ``components_``.
    learn_sigma : bool, default=False
        If False, every ``sigma_i`` is 1: standardise the data first (e.g.
        with :class:`~sklearn.preprocessing.StandardScaler`). If True,
        ``log sigma`` is learned by gradient ascent with the other
        parameters, starting from each feature's standard deviation and
        kept above a tenth of it (the likelihood is unbounded as a
        ``sigma_i`` shrinks to 0 on a feature with repeated values).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows passed to :meth:`fit`,
        score the model on them after every epoch (mean ``log p(v)``; exact
        when ``log Z`` is cheap to enumerate, else tracked by a small AIS
        run with the same random numbers every epoch), stop when
        ``n_iter_no_change`` epochs in a row have not improved on the best
        by more than ``tol``, and keep the best epoch's parameters. Like
        :class:`~sklearn.neural_network.MLPClassifier`'s, it applies to
        :meth:`fit` only.
    validation_fraction : float, default=0.1
        Fraction of the rows held out when ``early_stopping`` is True.
    n_iter_no_change : int, default=10
        Epochs without an improvement of more than ``tol`` before training
        stops (``early_stopping=True``).
    tol : float, default=1e-4
        Improvement of the held-out log-likelihood, in nats per sample, that
        counts (``early_stopping=True``).
    log_partition : {"auto", "exact", "ais"} or None, default="auto"
        How ``log Z`` is computed, on the first call that needs it after
        ``fit``/``partial_fit`` (training itself never pays for it).
        ``"exact"`` enumerates the hidden layer (at most 20 units);
        ``"ais"`` uses annealed importance sampling from a Gaussian fitted
        to the training data; ``"auto"`` is exact when
        ``2**n_components * n_features <= 2**25``, else AIS; ``None``
        skips it (then :meth:`score_samples` is unavailable).
    n_ais_chains : int, default=100
        Number of AIS runs.
    n_ais_temperatures : int, default=1000
        Number of intermediate distributions per AIS run.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weight matrix ``W``.
    intercept_hidden_ : ndarray of shape (n_components,)
        Biases of the hidden units.
    intercept_visible_ : ndarray of shape (n_features,)
        Means ``a`` of the visible units (in data units).
    sigma_ : ndarray of shape (n_features,)
        Standard deviations of the visible units (ones unless
        ``learn_sigma``).
    n_iter_ : int
        Number of epochs run so far (by :meth:`fit` and the
        :meth:`partial_fit` calls after it).
    best_epoch_ : int or None
        With ``early_stopping``, the epoch whose parameters were kept (the
        best held-out log-likelihood, ``history_["validation_log_likelihood"]``);
        None otherwise.
    h_samples_ : ndarray of shape (n_chains, n_components)
        Hidden states of the persistent chains (``batch_size`` of them when
        ``n_chains`` is None; ``n_chains * n_temperatures`` with
        ``sampler="pt"``, the ``beta = 1`` ones first). With
        ``persistent=False`` there are none, and it keeps its initial zeros.
    log_partition_ : float or None
        ``log Z`` in nats, the integral over ``v`` (None when
        ``log_partition=None``), computed on first access (or the first
        :meth:`score_samples`) after training.
    log_partition_stderr_ : float or None
        Standard error of ``log_partition_`` (0.0 when exact).
    log_partition_method_ : {"exact", "ais"} or None
        How ``log_partition_`` was obtained.
    history_ : dict of ndarray
        One entry per epoch: ``epoch``, ``reconstruction_error`` (mean
        squared error of the mean-field reconstruction on at most 256
        training rows) and ``time``; with ``sampler="pt"`` also
        ``swap_acceptance`` (see :class:`BernoulliRBM`).
    random_state_ : RandomState
        Generator that seeds later :meth:`partial_fit` and :meth:`gibbs`
        calls.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when they are all strings.

    See Also
    --------
    BernoulliRBM : The same model with binary visible units.
    EnergyOutlierDetector : Flags low-density samples.

    Notes
    -----
    The free energy is
    ``F(v) = sum_i (v_i - a_i)² / (2 sigma_i²) - sum_j softplus(c_j + W_j ·
    (v / sigma))`` and ``log Z = logsumexp_h [c·h + sum_i (u_i²/2 + u_i
    a_i / sigma_i)] + sum_i log(sigma_i sqrt(2 pi))`` with ``u = Wᵀh``.

    References
    ----------
    .. [1] Hinton, G. E. (2012). A practical guide to training restricted
       Boltzmann machines. In Neural Networks: Tricks of the Trade.
    .. [2] Krizhevsky, A. (2009). Learning multiple layers of features from
       tiny images. Technical report, University of Toronto.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm import GaussianBernoulliRBM
    >>> X = np.random.RandomState(0).normal(size=(200, 3))
    >>> model = GaussianBernoulliRBM(n_components=4, random_state=0).fit(X)
    >>> model.transform(X).shape
    (200, 4)
    >>> model.score_samples(X[:2]).shape
    (2,)
    """

    _gaussian = True
    _monitor_keys = ("reconstruction_error",)
    _parameter_constraints: dict = {
        **_BaseRBM._parameter_constraints,
        "learn_sigma": ["boolean"],
    }

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.01,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        k=1,
        persistent=True,
        n_chains=None,
        sampler="gibbs",
        n_temperatures=10,
        momentum=0.0,
        weight_decay=0.0,
        learn_sigma=False,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        log_partition="auto",
        n_ais_chains=100,
        n_ais_temperatures=1000,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.k = k
        self.persistent = persistent
        self.n_chains = n_chains
        self.sampler = sampler
        self.n_temperatures = n_temperatures
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.learn_sigma = learn_sigma
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.log_partition = log_partition
        self.n_ais_chains = n_ais_chains
        self.n_ais_temperatures = n_ais_temperatures

    def _initial_visible(self, X, dtype):
        # Visible means start at the data means; sigma at the data's
        # standard deviations when learned (floored: constant features).
        # Same arithmetic for dense and sparse X (row-by-row sums), so both
        # give bit-identical models.
        n = X.shape[0]
        mean = np.asarray(X.sum(axis=0), dtype=np.float64).ravel() / n
        log_sigma = np.zeros_like(mean)
        floor = np.zeros_like(mean)
        if self.learn_sigma:
            squares = X.multiply(X) if hasattr(X, "multiply") else X * X
            mean_sq = np.asarray(squares.sum(axis=0), dtype=np.float64).ravel() / n
            # Start at each feature's standard deviation (at least 1% of its
            # root mean square: constant features), and never go below a
            # tenth of that start (see rbm_epoch: the likelihood is
            # unbounded as sigma -> 0 on features with repeated values).
            var = np.maximum(mean_sq - mean**2, 1e-4 * mean_sq)
            log_sigma = 0.5 * np.log(np.maximum(var, 1e-12))
            floor = log_sigma - np.log(10.0)
        # The kernels learn the scaled mean a / sigma.
        scaled_mean = mean * np.exp(-log_sigma)
        return (
            scaled_mean.astype(dtype),
            log_sigma.astype(dtype),
            floor.astype(dtype),
        )

    def _learns_sigma(self):
        return bool(self.learn_sigma)

    def _log_sigma(self):
        return np.log(self.sigma_)

    @blas_pinned
    def gibbs(self, v):
        """Perform one block-Gibbs step ``v -> h -> v'``.

        Successive calls continue the generator ``random_state_`` set by
        ``fit``, so a loop of calls runs a Markov chain.

        Parameters
        ----------
        v : {array-like, sparse matrix} of shape (n_samples, n_features)
            Values of the visible layer to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Real-valued visible samples after one Gibbs step. Rows holding
            values beyond the range of the model's dtype (float64 rows
            given to a model fitted in float32) raise ``ValueError``.
        """
        return self._one_gibbs_step(v)
