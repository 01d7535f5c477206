"""One epoch of :class:`~skebm.EnergyDensity` training (private).

Each update: restart ``REINIT_FRACTION`` of the persistent chains from the
base Gaussian, move every chain ``n_mcmc_steps`` transitions, then take an
Adam step along the maximum-likelihood gradient ``mean_data dE/dθ -
mean_chains dE/dθ`` (plus weight decay on the network). The chains' common
step size follows their acceptance rate towards the sampler's target.

With a mixture base (``sampler="importance"``) the model's side is instead
a self-normalised importance-sampling average over ``N_DRAWS`` fresh draws
from the base, weighted by ``exp(-v . z_L)``; the chains are then a
weighted resample of those draws.
"""

import numpy as np

from ._base import numpy_seed
from ._energy_density import (
    ADAM_BETAS,
    METHODS,
    N_LEAPFROG,
    PT_BETAS,
    REINIT_FRACTION,
    TARGETS,
)

#: Gain of the step-size adaptation per update (on ``log step``).
STEP_GAIN = 0.05
#: Penalty ``ENERGY_PENALTY * (mean N(data)^2 + mean N(chains)^2)`` on the
#: network's output ``N = v . z_L`` (Du & Mordatch 2019 penalise the whole
#: energy): keeps it near 0, so that an update cannot dig a well the chains
#: never visit. The quadratic is left free: in d dimensions it is about d/2
#: on the data, and pulling it to 0 would distort the fit.
ENERGY_PENALTY = 0.1
#: The learning rate falls linearly over fit's epochs to this fraction.
MIN_LR_FRACTION = 0.02


class Trainer:
    """``plan()``: the ``(run_epoch, monitor)`` pair of the skeleton."""

    def __init__(self, model, X, params, seed):
        from ._kernels._rng import seed_state
        from ._kernels._sync import available_threads

        self.X = np.ascontiguousarray((X - params["mean"]) @ params["whitening"])
        self.params = params
        self.rng = np.random.RandomState(numpy_seed(seed))
        self.tempered = model.sampler == "pt"
        n_rows = params["chains"].shape[0] * (len(PT_BETAS) if self.tempered else 1)
        self.state = seed_state(seed, n_rows)
        self.n_threads = available_threads()
        # "pt" moves its chains by MALA; "auto" without a mixture base is MALA
        sampler = model.sampler if model.sampler in ("mala", "hmc") else "mala"
        self.method, self.target = METHODS[sampler], TARGETS[sampler]
        self.hyper = (float(model.learning_rate), float(model.weight_decay))
        self.batch_size = int(model.batch_size)
        self.n_steps = int(model.n_mcmc_steps)
        self.record = {}
        # fit decays the learning rate linearly over its epochs; a
        # partial_fit call (one epoch) keeps it constant
        self.decay_epochs = int(params["n_epochs"][0])
        self.epoch = 0
        self.importance = params["base_weights"].size > 0
        # the penalty keeps the network where the chains can follow it;
        # importance sampling has no chains to follow
        self.alpha = 0.0 if self.importance else ENERGY_PENALTY

    def plan(self):
        return self.run_epoch, self.monitor

    def run_epoch(self):
        X = self.X
        order = self.rng.permutation(X.shape[0])
        gaps, rates = [], []
        for start in range(0, X.shape[0], self.batch_size):
            batch = X[np.sort(order[start : start + self.batch_size])]
            gap, rate = self.update(batch)
            gaps.append(gap)
            rates.append(rate)
        self.epoch += 1
        self.record = {
            "energy_gap": float(np.mean(gaps)) if gaps else np.nan,
            "acceptance_rate": float(np.mean(rates)) if rates else np.nan,
            "step_size": float(np.exp(self.params["log_step"][-1])),
        }

    def _move_chains(self, model):
        """Restart some chains, move all; adapt the step size. Returns the
        mean acceptance rate."""
        from ._kernels._mcmc import run_chains

        if self.tempered:
            return self._move_tempered(model)
        params = self.params
        chains = params["chains"]
        restart = self.rng.uniform(size=chains.shape[0]) < REINIT_FRACTION
        chains[restart] = self.rng.normal(size=(int(restart.sum()), chains.shape[1]))
        log_step = np.full(chains.shape[0], params["log_step"][-1])
        settings = (self.method, 0, self.n_steps, N_LEAPFROG, 0.0)
        rate = float(run_chains(model, chains, self.state, settings, log_step,
                                self.n_threads).mean())  # fmt: skip
        params["log_step"][-1] += STEP_GAIN * (rate - self.target)
        return rate

    def _move_tempered(self, model):
        """Parallel tempering: chains at every ``beta`` of ``PT_BETAS`` on
        ``E_beta = beta E + (1 - beta) |u|^2 / 2`` (``beta = 0``: fresh
        draws of the base), MCMC moves, then swaps between neighbours.
        Returns the model chains' acceptance rate."""
        from ._kernels._energy_net import energies_and_grads
        from ._kernels._mcmc import run_chains

        params = self.params
        n, d = params["chains"].shape
        n_hot = (len(PT_BETAS) - 1) * n
        if params["hot"].shape != (n_hot, d):  # new, or n_chains changed
            params["hot"] = self.rng.normal(size=(n_hot, d))
        params["hot"][:n] = self.rng.normal(size=(n, d))
        X = np.concatenate([params["hot"], params["chains"]])
        log_step = np.repeat(params["log_step"], n)
        settings = (self.method, 0, self.n_steps, N_LEAPFROG, 0.0)
        base = ((np.zeros(d), np.ones(d)), np.repeat(PT_BETAS, n))
        rates = run_chains(model, X, self.state, settings, log_step, self.n_threads,
                           base).reshape(-1, n).mean(axis=1)  # fmt: skip
        params["log_step"] += STEP_GAIN * (rates - self.target)
        excess = energies_and_grads(model, X, np.empty_like(X)) - 0.5 * (X * X).sum(1)
        X, excess = X.reshape(-1, n, d), excess.reshape(-1, n)
        for t in [*range(0, len(PT_BETAS) - 1, 2), *range(1, len(PT_BETAS) - 1, 2)]:
            log_ratio = (PT_BETAS[t + 1] - PT_BETAS[t]) * (excess[t + 1] - excess[t])
            swap = np.log(self.rng.uniform(size=n)) < log_ratio
            X[[t, t + 1]] = np.where(swap[:, None], X[[t + 1, t]], X[[t, t + 1]])
            excess[[t, t + 1]] = np.where(swap, excess[[t + 1, t]], excess[[t, t + 1]])
        params["hot"] = np.ascontiguousarray(X[:-1].reshape(-1, d))
        params["chains"][...] = X[-1]
        return float(rates[-1])

    def update(self, batch):
        """One Adam step on ``batch`` (standardised rows); returns the
        energy gap and the chains' acceptance rate."""
        from ._energy_density import _model_from_params

        params = self.params
        model = _model_from_params(params)
        e_pos, g_pos = self._weighted_grad(model, batch, 1.0)
        if self.importance:
            draws, weights, rate = self._draw_base(model)
            e_neg, g_neg = self._weighted_grad(model, draws, -weights)
            e_neg = weights @ e_neg
        else:
            rate = self._move_chains(model)
            e_neg, g_neg = self._weighted_grad(model, params["chains"], -1.0)
        grad = g_pos + g_neg
        lr, decay = self.hyper
        if self.decay_epochs > 1:
            lr = lr * max(MIN_LR_FRACTION, 1 - self.epoch / self.decay_epochs)
        theta = params["theta"]
        grad[: theta.size] += decay * theta
        self._adam_step(grad, lr)
        return float(np.mean(e_neg) - e_pos.mean()), rate

    def _draw_base(self, model):
        """``(draws, weights, effective sample size / draws)``: fresh draws
        from the mixture base and their self-normalised importance weights;
        the chains become a weighted resample of the draws."""
        from ._energy_base import N_DRAWS, draw, importance_weights

        params = self.params
        draws = draw(params, N_DRAWS, self.rng)
        weights, _ = importance_weights(model, draws)
        chains = params["chains"]
        chains[...] = draws[self.rng.choice(N_DRAWS, size=len(chains), p=weights)]
        return draws, weights, float(1.0 / (weights @ weights) / N_DRAWS)

    def _weighted_grad(self, model, X, sign):
        """``(E(X), sign * mean dE/dθ + alpha * mean dN²/dθ)`` over the
        rows of ``X`` (``N``: the network's output), network then quadratic
        parameters. ``sign``: a number, or one weight per row."""
        from ._kernels._energy_net import energies_and_grads, param_grad_sum

        if np.ndim(sign):
            weights = np.asarray(sign, dtype=np.float64)
        else:
            weights = np.full(X.shape[0], sign / X.shape[0])
        diff = X - model[2]
        p2 = model[3] * model[3]
        quadratic = 0.5 * (diff * diff * p2).sum(axis=1)
        # (a mixture base: p = 0, so the quadratic's gradient is 0: frozen)
        grad_quadratic = np.concatenate([-(weights @ (diff * p2)),
                                         weights @ (diff * diff * p2)])  # fmt: skip
        if self.alpha:  # the penalty on the network's output v . z_L
            net = energies_and_grads(model, X, np.empty_like(X)) - quadratic
            weights = weights + 2 * self.alpha * net / X.shape[0]
        energies, g = param_grad_sum(model, X, weights, self.n_threads)
        return energies, np.concatenate([g, grad_quadratic])

    def _adam_step(self, grad, lr):
        """Adam (no momentum) on the network and quadratic parameters, in
        place; its moments live in ``params["adam"]`` (rows: first, second)
        and its step count in ``params["adam_t"]``, so that they carry over
        between calls."""
        from ._backprop import _Optimizer

        params = self.params
        names = ("theta", "center", "log_precision")
        bounds = np.cumsum([0] + [params[name].size for name in names])
        parts = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
        moments = params["adam"]
        state = (int(params["adam_t"][0]), [moments[0, s] for s in parts],
                 [moments[1, s] for s in parts])  # fmt: skip
        optimizer = _Optimizer([params[name] for name in names], "adam", lr, 0.0,
                               betas=ADAM_BETAS, state=state)  # fmt: skip
        optimizer.step([grad[s] for s in parts])
        params["adam_t"][0] = optimizer.t

    def monitor(self, params):
        return dict(self.record)
