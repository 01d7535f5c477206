"""Deep belief networks: a greedy stack of skebm RBMs (``DeepBeliefNetwork``).
Its supervised fine-tuning (``DBNClassifier``) is in ``_dbn_classifier``.

Every layer is a real :class:`~skebm.BernoulliRBM` (or, for real-valued
input, a :class:`~skebm.GaussianBernoulliRBM` first layer), trained by the
RBMs' own compiled CD-k / PCD-k kernels. Fine-tuning is vectorised NumPy over
minibatches (a handful of matrix products per minibatch, as in
scikit-learn's ``MLPClassifier``): no loop over samples.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import _NoBoolParamsMixin, atomic_fit, blas_pinned, draw_seed
from ._rbm import BernoulliRBM, GaussianBernoulliRBM
from ._validation import check_clamp, check_noise, check_positive_int

#: Seeds handed to the layers are drawn below this bound (valid for
#: ``np.random.RandomState``): ``rng.randint(_SEED_BOUND, size=n_layers)``.
_SEED_BOUND = np.iinfo(np.int32).max


def _layer_sizes(hidden_layer_sizes):
    """``hidden_layer_sizes`` as a list of positive ints (int or sequence)."""
    if isinstance(hidden_layer_sizes, Integral):
        sizes = [hidden_layer_sizes]
    else:
        sizes = list(hidden_layer_sizes)
    if not sizes or not all(
        isinstance(n, Integral) and not isinstance(n, bool) and n > 0 for n in sizes
    ):
        raise ValueError(
            "hidden_layer_sizes must be a positive int or a non-empty sequence "
            f"of positive ints, got {hidden_layer_sizes!r}."
        )
    return [int(n) for n in sizes]


_RBM_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "visible": [StrOptions({"bernoulli", "gaussian"})],
}


class DeepBeliefNetwork(
    _NoBoolParamsMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Deep belief network: a stack of RBMs trained greedily, layer by layer.

    Layer ``l`` is an RBM whose visible units are the hidden units of layer
    ``l - 1`` (the data for ``l = 1``). :meth:`fit` trains the layers one
    after the other (Hinton, Osindero and Teh 2006), each on the hidden
    probabilities ``p(h = 1 | input)`` of the layer below; :meth:`transform`
    is the deterministic up-pass through the stack and :meth:`sample` draws
    from the generative model. Each layer is a fitted skebm estimator,
    exposed in ``rbms_``.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int or int, default=(256, 128)
        Number of hidden units of each layer, bottom first (like
        :class:`~sklearn.neural_network.MLPClassifier`).
    visible : {"bernoulli", "gaussian"}, default="bernoulli"
        Visible units of the first layer: a :class:`BernoulliRBM` (data in
        [0, 1]) or a :class:`GaussianBernoulliRBM` (real-valued data,
        standardise it first). The layers above are always
        :class:`BernoulliRBM`.
    learning_rate : float or "auto", default="auto"
        Learning rate of every layer. ``"auto"`` keeps each RBM's own
        default: 0.1 for a :class:`BernoulliRBM`, 0.01 for a
        :class:`GaussianBernoulliRBM`.
    batch_size : int, default=10
        Minibatch size of every layer.
    n_iter : int, default=10
        Number of epochs of every layer.
    k : int, default=1
        Gibbs steps per minibatch in the negative phase of every layer.
    persistent : bool, default=True
        Persistent chains (PCD) if True, CD-k from the data if False.
    n_chains : int or None, default=None
        Number of persistent chains of every layer (``None``: one per
        minibatch row); see :class:`BernoulliRBM`.
    momentum : float, default=0.0
        Momentum of the parameter updates of every layer, in [0, 1).
    weight_decay : float, default=0.0
        L2 penalty on the weights of every layer.
    random_state : int, RandomState instance or None, default=None
        Seeds the layers. ``fit`` draws one seed per layer,
        ``check_random_state(random_state).randint(2**31 - 1,
        size=n_layers)``, and passes seed ``l`` as the ``random_state`` of
        layer ``l``: training the RBMs by hand with these seeds gives the
        same arrays.
    verbose : int, default=0
        If positive, print a line per layer and let each RBM print its
        epochs.

    Attributes
    ----------
    rbms_ : list of BernoulliRBM or GaussianBernoulliRBM
        The fitted layers, bottom first. They are created with
        ``log_partition=None``: a layer's log-partition function would not
        give the DBN's likelihood, and estimating it costs time, so
        ``rbms_[l].score_samples`` is unavailable (``free_energy`` works).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when they are all strings.

    See Also
    --------
    DBNClassifier : Pretrains this stack, then fine-tunes it by
        backpropagation.
    BernoulliRBM : One layer.

    Notes
    -----
    There is no ``partial_fit``: greedy training needs layer ``l`` trained
    before the input of layer ``l + 1`` is defined; training all layers on
    each new batch would be a different algorithm. The layers' own
    ``partial_fit`` remains available.

    References
    ----------
    .. [1] Hinton, G. E., Osindero, S. and Teh, Y.-W. (2006). A fast
       learning algorithm for deep belief nets. Neural Computation 18(7).
    .. [2] Bengio, Y., Lamblin, P., Popovici, D. and Larochelle, H. (2007).
       Greedy layer-wise training of deep networks. NIPS.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skebm import DeepBeliefNetwork
    >>> X = load_digits().data / 16
    >>> dbn = DeepBeliefNetwork(hidden_layer_sizes=(32, 16), n_iter=2,
    ...                         random_state=0).fit(X)
    >>> dbn.transform(X).shape
    (1797, 16)
    >>> dbn.sample(4, n_steps=10).shape
    (4, 64)
    """

    _parameter_constraints: dict = {
        **_RBM_CONSTRAINTS,
        "learning_rate": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "k": [Interval(Integral, 1, None, closed="left")],
        "persistent": ["boolean"],
        "n_chains": [Interval(Integral, 1, None, closed="left"), None],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 128),
        *,
        visible="bernoulli",
        learning_rate="auto",
        batch_size=10,
        n_iter=10,
        k=1,
        persistent=True,
        n_chains=None,
        momentum=0.0,
        weight_decay=0.0,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible = visible
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.k = k
        self.persistent = persistent
        self.n_chains = n_chains
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.verbose = verbose

    def _make_rbm(self, layer, n_components, seed):
        """The unfitted RBM of layer ``layer`` (0 = bottom)."""
        cls = (
            GaussianBernoulliRBM
            if layer == 0 and self.visible == "gaussian"
            else BernoulliRBM
        )
        params = dict(
            n_components=n_components,
            batch_size=self.batch_size,
            n_iter=self.n_iter,
            k=self.k,
            persistent=self.persistent,
            n_chains=self.n_chains,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            random_state=seed,
            verbose=self.verbose,
            log_partition=None,
        )
        if self.learning_rate != "auto":
            params["learning_rate"] = self.learning_rate
        return cls(**params)

    @atomic_fit
    @blas_pinned
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the layers greedily, bottom first.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data: in [0, 1] for ``visible="bernoulli"``. float32
            data trains in float32.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted network.
        """
        X = validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=(np.float64, np.float32)
        )
        sizes = _layer_sizes(self.hidden_layer_sizes)
        seeds = check_random_state(self.random_state).randint(
            _SEED_BOUND, size=len(sizes)
        )
        rbms, H = [], X
        for layer, (n_components, seed) in enumerate(zip(sizes, seeds)):
            rbm = self._make_rbm(layer, n_components, int(seed))
            if self.verbose:
                print(
                    f"[{type(self).__name__}] layer {layer + 1}/{len(sizes)}: "
                    f"{type(rbm).__name__}, {H.shape[1]} -> {n_components} units"
                )
            rbm.fit(H)
            rbms.append(rbm)
            if layer + 1 < len(sizes):
                H = rbm.transform(H)  # hidden probabilities feed the next layer
        self.rbms_ = rbms
        self._n_features_out = sizes[-1]
        return self

    @blas_pinned
    def transform(self, X):
        """Deterministic up-pass: the top layer's hidden probabilities.

        Each layer maps its input to ``p(h = 1 | input)`` (its
        ``transform``), and the next layer takes these probabilities as
        input.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data to be transformed.

        Returns
        -------
        H : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            Top-layer representation (dtype of the fitted weights). With
            Gaussian visible units, finite rows so large that the first
            layer's input overflows raise ``ValueError`` (never NaN).
        """
        check_is_fitted(self)
        H = self._validate_rows(X)
        for rbm in self.rbms_:
            H = rbm.transform(H)
        return H

    def _validate_rows(self, X):
        """New rows, checked against the fitted shape and feature names."""
        return validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            reset=False,
        )

    @blas_pinned
    def reconstruct(self, X, *, n_steps=1, clamp=None, noise=None):
        """Mean-field reconstruction through the whole stack.

        The deterministic up-pass of :meth:`transform` to the top layer's
        hidden probabilities, then the down-pass of :meth:`sample`: each
        layer's visible means given the layer above (the weights are tied).
        Repeated ``n_steps`` times, each pass starting from the previous
        one's means; with ``clamp``, the marked entries are held at their
        values in ``X`` after every pass (inpainting).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to reconstruct; entries not clamped are starting values.
        n_steps : int, default=1
            Up-and-down passes.
        clamp : array-like of bool of shape (n_samples, n_features), default=None
            True for the entries of ``X`` to hold fixed, False for those to
            reconstruct. None reconstructs every entry.
        noise : float, default=None
            The corruption ``X`` carries, for denoising: the bottom layer's
            down-pass returns the posterior mean given ``X`` as in
            :meth:`BernoulliRBM.reconstruct` (a flip probability in
            (0, 0.5) for ``visible="bernoulli"``, the standard deviation of
            additive noise for ``"gaussian"``). None: no noise model.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            The reconstruction, dense, in the input's dtype: probabilities
            in [0, 1] for ``visible="bernoulli"``, real values for
            ``"gaussian"``.
        """
        check_is_fitted(self)
        n_steps = check_positive_int(n_steps, "n_steps")
        V = self._validate_rows(X)
        noise = check_noise(noise, self.visible == "gaussian")
        clamp, X_dense = check_clamp(clamp, V, dense=noise is not None)
        dtype = V.dtype
        bottom = self.rbms_[0]
        for _ in range(n_steps):
            for rbm in self.rbms_:
                V = rbm.transform(V)
            for rbm in reversed(self.rbms_[1:]):
                V = rbm._visible_mean(V)
            V = bottom._visible_posterior_mean(V, X_dense, noise)
            if clamp is not None:
                V[clamp] = X_dense[clamp]
        return V.astype(dtype, copy=False)

    @blas_pinned
    def sample_conditional(self, X, clamp, *, n_steps=200, random_state=None):
        """Sample the visible units not in ``clamp`` given those that are.

        With one layer, the RBM's clamped block Gibbs sampler
        (:meth:`BernoulliRBM.sample_conditional`). With more, each step is
        the deterministic up-pass of :meth:`transform` below the top RBM,
        one block-Gibbs step of the top RBM, and the down-pass of
        :meth:`sample` (visible means), after which the clamped entries are
        put back to their values in ``X``. The lower layers pass means, so
        for deep stacks this is an approximate conditional sampler.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to condition on; entries not clamped are starting values.
        clamp : array-like of bool of shape (n_samples, n_features)
            True for the entries of ``X`` to hold fixed, False for those to
            sample. None clamps nothing.
        n_steps : int, default=200
            Steps per row.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains. ``None`` uses the estimator's
            ``random_state``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            One sample per row (dtype of the fitted weights), the clamped
            entries equal to ``X``'s.
        """
        from ._kernels._rng import seed_state

        check_is_fitted(self)
        n_steps = check_positive_int(n_steps, "n_steps")
        V = self._validate_rows(X)
        clamp, X_dense = check_clamp(clamp, V)
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        if len(self.rbms_) == 1:
            seed = draw_seed(rng, numpy=True)
            return self.rbms_[0].sample_conditional(
                V, clamp, n_steps=n_steps, random_state=seed
            )
        top = self.rbms_[-1]
        state = seed_state(draw_seed(rng), V.shape[0])
        for _ in range(n_steps):
            for rbm in self.rbms_[:-1]:
                V = rbm.transform(V)
            V = np.ascontiguousarray(top._scaled(V), dtype=top.components_.dtype)
            V = top._gibbs_chains(V, state, 1)
            for rbm in reversed(self.rbms_[:-1]):
                V = rbm._visible_mean(V)
            if clamp is not None:
                V[clamp] = X_dense[clamp]
        return V

    @blas_pinned
    def sample(self, n_samples=1, *, n_steps=200, random_state=None):
        """Draw samples from the generative model.

        Block Gibbs sampling in the top RBM (``rbms_[-1].sample``, from
        random starts, ``n_steps`` steps) gives binary states of the
        second-highest layer of units; a deterministic down-pass then maps
        them to the data space through the generative weights: each lower
        layer's visible means given the layer above,
        ``sigmoid(h @ components_ + intercept_visible_)`` for Bernoulli
        units and ``intercept_visible_ + sigma_ * (h @ components_)`` for
        Gaussian ones (the weights are tied: the generative weights of a
        layer are its ``components_``).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (independent chains).
        n_steps : int, default=200
            Gibbs steps of each chain in the top RBM.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains. ``None`` uses the estimator's
            ``random_state``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
            Samples: probabilities in [0, 1] for ``visible="bernoulli"``,
            real values for ``"gaussian"`` (the down-pass returns means).
            With a single layer, the top RBM's own (binary or Gaussian)
            samples.
        """
        check_is_fitted(self)
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        V = self.rbms_[-1].sample(
            n_samples, n_steps=n_steps, random_state=draw_seed(rng, numpy=True)
        )
        for rbm in reversed(self.rbms_[:-1]):
            V = rbm._visible_mean(V)
        return V

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = self.visible == "bernoulli"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
