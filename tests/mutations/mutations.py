"""Curated semantic mutations of skebm for the mutation check (issue 22).

Each mutation is one plausible bug: ``old`` must occur exactly once in
``file`` (so a mutation that a refactor has made stale fails loudly instead
of silently testing nothing), ``new`` replaces it, ``why`` names the bug and
``tests`` are the pytest arguments (test files, ``file::test`` ids or ``-k``
expressions) that must catch it. ``tests/mutations/run.py`` applies each one
to a copy of the repository and runs its tests there; see
``doc/developers.rst``.

An ``equivalent`` entry (a reason) marks a mutation known not to change
behaviour; none is kept at present.

Not named ``test_*.py``: pytest does not collect it.
"""

K = "skebm/_kernels/"

# Test selections, narrow on purpose: each mutant runs only the modules that
# exercise the code it changes, fastest and most direct first (``-x`` stops at
# the first failure, so a killed mutant rarely runs them all).
RBM_KERNEL = ["tests/test_kernels_rbm.py"]
RBM_STATS = ["tests/test_estimator_statistics.py"]
RBM_EST = ["tests/test_rbm.py"]
GAUSS = ["tests/test_kernels_gaussian.py", "tests/test_gaussian_rbm.py"]
BM_KERNEL = ["tests/test_kernels_boltzmann.py"]
BM_EST = ["tests/test_boltzmann.py"]
HOP = ["tests/test_kernels_hopfield.py", "tests/test_hopfield.py"]
PT = ["tests/test_tempering.py"]
CLAMPED = ["tests/test_sample_conditional.py"]
MCMC = ["tests/test_sampling.py"]
DENSITY = ["tests/test_energy_density.py"]
BASE = ["tests/test_energy_base.py"]
CATEGORICAL = ["tests/test_categorical_rbm.py"]
DBM = ["tests/test_dbm.py"]

MUTATIONS = [
    # ------------------------------------------------ RBM training kernel
    dict(
        id="cd-pcd-chains-keep-probabilities",
        file=K + "_cd.py",
        old=(
            "        target = chain if phase == _CD_DRAW else chain_hidden\n"
            "        bernoulli_sample_(target[q0:q1], rng_state[q0:q1])\n"
        ),
        new=(
            "        if phase == _CD_DRAW:  # MUTANT: chains keep p(h | v)\n"
            "            bernoulli_sample_(chain[q0:q1], rng_state[q0:q1])\n"
        ),
        why="PCD chains keep hidden probabilities instead of samples",
        tests=RBM_STATS + RBM_KERNEL,
    ),
    dict(
        id="cd-drop-last-row-of-minibatch",
        file=K + "_cd.py",
        old="        n_pos = bounds[i + 1] - start\n",
        new="        n_pos = bounds[i + 1] - start - 1\n",
        why="the CD kernel drops the last row of every minibatch",
        tests=RBM_STATS + RBM_KERNEL,
    ),
    dict(
        id="cd-negative-phase-sign",
        file=K + "_cd.py",
        old=(
            "        scale = pos_scale if r < n_pos else -neg_scale\n"
            "        row = H[r][h0:h1]\n"
        ),
        new=(
            "        scale = pos_scale if r < n_pos else neg_scale\n"
            "        row = H[r][h0:h1]\n"
        ),
        why="negative phase added to the W and hidden-bias gradients",
        tests=RBM_KERNEL,
    ),
    dict(
        id="cd-visible-gradient-sign",
        file=K + "_cd.py",
        old="            grad[k] -= row[k] * neg_scale\n",
        new="            grad[k] += row[k] * neg_scale\n",
        why="negative phase added to the visible-bias gradient",
        tests=RBM_KERNEL,
    ),
    dict(
        id="cd-cd-chains-start-from-probabilities",
        file=K + "_cd.py",
        old=(
            "        target = chain if phase == _CD_DRAW else chain_hidden\n"
            "        bernoulli_sample_(target[q0:q1], rng_state[q0:q1])\n"
        ),
        new=(
            "        if phase != _CD_DRAW:  # MUTANT: CD chains start from p(h|v)\n"
            "            bernoulli_sample_(chain_hidden[q0:q1], rng_state[q0:q1])\n"
        ),
        why="CD-k chains start from hidden probabilities, not samples",
        tests=RBM_KERNEL + RBM_STATS,
    ),
    dict(
        id="cd-k-steps-hidden-not-resampled",
        file=K + "_cd.py",
        old="        if step < n_steps - 1:\n",
        new="        if step < n_steps - 2:\n",
        why="off by one: CD-k/PCD-k skip the last intermediate hidden draw",
        tests=RBM_KERNEL,
    ),
    dict(
        id="cd-weight-decay-sign",
        file=K + "_cd.py",
        old="V[:, :], 1.0 - decay,",
        new="V[:, :], 1.0 + decay,",
        why="weight decay grows the weights (no momentum)",
        tests=RBM_KERNEL,
    ),
    dict(
        id="cd-momentum-weight-decay-sign",
        file=K + "_cd.py",
        old="            W_velocity[r, c] -= decay * W[r, c]\n",
        new="            W_velocity[r, c] += decay * W[r, c]\n",
        why="weight decay grows the weights (with momentum)",
        tests=RBM_KERNEL,
    ),
    dict(
        id="cd-momentum-dropped-on-visible-bias",
        file=K + "_cd.py",
        old="_momentum_step(vis_bias[v0:v1], vis_velocity[v0:v1], momentum,",
        new="_momentum_step(vis_bias[v0:v1], vis_velocity[v0:v1], 0.0,",
        why="the visible-bias velocity forgets its momentum term",
        tests=RBM_KERNEL,
    ),
    dict(
        id="cd-gaussian-data-not-scaled",
        file=K + "_cd.py",
        old="                V[r, c] *= inv_sigma[c]\n",
        new="                pass  # MUTANT: data rows left in data units\n",
        why="Gaussian training uses v instead of v / sigma (learned sigma)",
        tests=GAUSS,
    ),
    dict(
        id="cd-log-sigma-gradient-sign",
        file=K + "_cd.py",
        old="v * (v - vis_bias[c] - recon[r, c])",
        new="v * (v + vis_bias[c] - recon[r, c])",
        why="sign error in the log-sigma gradient's bias term",
        tests=GAUSS,
    ),
    dict(
        id="cd-gibbs-hidden-probabilities",
        file=K + "_rbm_inference.py",
        old="        bernoulli_mean_sample_(h, rng_state)\n",
        new="        bernoulli_mean_(h)\n",
        why="sample/gibbs propagate hidden probabilities, not samples",
        tests=RBM_STATS + RBM_KERNEL,
    ),
    dict(
        id="cd-monitor-pll-sign",
        file="skebm/_monitor.py",
        old="np.logaddexp(0.0, gap)",
        new="np.logaddexp(0.0, -gap)",
        why="pseudo-log-likelihood monitor uses log sigmoid of the wrong sign",
        tests=RBM_KERNEL + RBM_EST,
    ),
    # ------------------------------------------------------- shared layers
    dict(
        id="layers-free-energy-bias-sign",
        file=K + "_layers.py",
        old="                acc -= V[r, c] * vis_bias[c]\n",
        new="                acc += V[r, c] * vis_bias[c]\n",
        why="visible-bias term of the Bernoulli free energy has the wrong sign",
        tests=RBM_KERNEL,
    ),
    dict(
        id="layers-gaussian-noise-ignores-std",
        file=K + "_layers.py",
        old="            mean[r, c] += std[c] * z1\n",
        new="            mean[r, c] += z1\n",
        why="Gaussian draws ignore the standard deviation (even columns)",
        tests=["tests/test_kernels_gaussian.py"],
    ),
    # ----------------------------------------------------------------- AIS
    dict(
        id="ais-rbm-hidden-untempered",
        file=K + "_ais.py",
        old="                H[r, j] = beta * pre[r, j]\n",
        new="                H[r, j] = pre[r, j]\n",
        why="the RBM AIS hidden transition is not tempered",
        # the calibrated estimator-level check first: the kernel test's
        # 3-standard-error check catches this one only marginally
        tests=[
            "tests/test_estimator_statistics.py::"
            "test_rbm_ais_is_unbiased_and_its_standard_error_calibrated",
        ]
        + RBM_KERNEL,
    ),
    dict(
        id="ais-rbm-visible-untempered",
        file=K + "_ais.py",
        old="gemm(NO_TRANS, NO_TRANS, beta, H[:, :], W[:, :], 1.0, V[:, :])\n",
        new="gemm(NO_TRANS, NO_TRANS, 1.0, H[:, :], W[:, :], 1.0, V[:, :])\n",
        why="the RBM AIS visible transition is not tempered",
        tests=RBM_KERNEL,
    ),
    dict(
        id="ais-rbm-weight-sign",
        file=K + "_ais.py",
        old="            log_w[r] += f_hi[r] - f_lo[r]\n",
        new="            log_w[r] += f_lo[r] - f_hi[r]\n",
        why="AIS log-weight increments with the wrong sign",
        tests=RBM_KERNEL,
    ),
    dict(
        id="ais-gaussian-precision-half-dropped",
        file=K + "_ais.py",
        old="                acc -= 0.5 * precision[i] * V[r, i] * V[r, i]\n",
        new="                acc -= precision[i] * V[r, i] * V[r, i]\n",
        why="Gaussian annealed density loses the 1/2 of its quadratic term",
        tests=["tests/test_kernels_gaussian.py"],
    ),
    dict(
        id="enumerate-skips-last-state",
        file=K + "_ais.py",
        old="    for t in range(1, n_states):\n",
        new="    for t in range(1, n_states - 1):\n",
        why="off by one: exact log Z enumeration misses the last Gray state",
        tests=RBM_KERNEL,
    ),
    # ------------------------------------------------------ partition.py
    dict(
        id="partition-ais-stderr-3x",
        file="skebm/partition.py",
        old="    stderr = w.std(ddof=1) / (np.sqrt(len(w)) * w.mean())\n",
        new="    stderr = 3.0 * w.std(ddof=1) / (np.sqrt(len(w)) * w.mean())\n",
        why="the AIS standard error (RBM and Boltzmann) is inflated 3x",
        tests=["tests/test_estimator_statistics.py", "-k", "ais"],
    ),
    dict(
        id="partition-ais-log-z0-drops-hidden",
        file="skebm/partition.py",
        old="        log_z0 = n_hidden * np.log(2.0) + np.logaddexp(0.0, eta).sum()\n",
        new="        log_z0 = np.logaddexp(0.0, eta).sum()\n",
        why="AIS base log Z drops the hidden layer's n_hidden log 2",
        tests=RBM_KERNEL + ["tests/test_partition.py"],
    ),
    dict(
        id="partition-gaussian-drops-log-sigma",
        file="skebm/partition.py",
        old="            + (log_sigma + HALF_LOG_2PI).sum()\n",
        new="            + HALF_LOG_2PI * log_sigma.size\n",
        why="exact Gaussian log Z drops the sum of log sigma (Jacobian)",
        tests=GAUSS,
    ),
    # ---------------------------------------------------- estimator layer
    dict(
        id="base-batch-bounds-drop-last-row",
        file="skebm/_base.py",
        old="    return np.array(starts + [n_samples], dtype=np.int64)\n",
        new="    return np.array(starts + [n_samples - 1], dtype=np.int64)\n",
        why="batch_bounds drops the last row of the data",
        tests=RBM_STATS,
    ),
    dict(
        id="rbm-sample-ignores-n-steps",
        file="skebm/_rbm_base.py",
        old="self._from_visible(self._gibbs_chains(v0, state, n_steps))\n",
        new="self._from_visible(self._gibbs_chains(v0, state, 1))\n",
        why="BernoulliRBM.sample ignores n_steps (one Gibbs step)",
        tests=RBM_STATS,
    ),
    dict(
        id="gaussian-gibbs-scaled-units",
        file="skebm/_rbm_base.py",
        old="        )\n        return self._to_data_units(out)\n",
        new="        )\n        return out  # MUTANT: scaled units\n",
        why="GaussianBernoulliRBM.sample/gibbs return v / sigma",
        tests=["tests/test_estimator_statistics.py", "-k", "gaussian"],
    ),
    dict(
        id="gaussian-scaled-bias-sign",
        file="skebm/_rbm_base.py",
        old="np.ascontiguousarray(b * np.exp(-log_sigma), dtype=b.dtype)\n",
        new="np.ascontiguousarray(b * np.exp(log_sigma), dtype=b.dtype)\n",
        why="visible bias scaled by sigma instead of 1 / sigma",
        tests=GAUSS,
    ),
    dict(
        id="gaussian-sparse-free-energy-drops-bias-square",
        file="skebm/_rbm_base.py",
        old="            out = 0.5 * squares - linear + 0.5 * np.dot(b64, b64)\n",
        new="            out = 0.5 * squares - linear\n",
        why="sparse Gaussian free energy drops the |a / sigma|^2 / 2 term",
        tests=GAUSS,
    ),
    dict(
        id="rbm-sparse-transform-drops-hidden-bias",
        file="skebm/_rbm_base.py",
        old="            out += c\n            bernoulli_mean_(out)\n",
        new="            bernoulli_mean_(out)\n",
        why="sparse transform drops the hidden bias",
        tests=RBM_EST,
    ),
    dict(
        id="rbm-partial-fit-resets-chains",
        file="skebm/_rbm_base.py",
        old='            "h_samples": self._resized_chains(dtype),\n',
        new='            "h_samples": 0 * self._resized_chains(dtype),\n',
        why="partial_fit restarts the persistent chains at zero",
        tests=RBM_EST,
    ),
    dict(
        id="gaussian-initial-sigma-is-variance",
        file="skebm/_rbm.py",
        old="            log_sigma = 0.5 * np.log(np.maximum(var, 1e-12))\n",
        new="            log_sigma = np.log(np.maximum(var, 1e-12))\n",
        why="learned sigma starts at the variance, not the standard deviation",
        tests=["tests/test_gaussian_rbm.py"],
    ),
    # ---------------------------------------------------- Boltzmann machine
    dict(
        id="bm-sml-drop-last-row-of-minibatch",
        file=K + "_boltzmann_train.py",
        old="        batch = (bounds[k], bounds[k + 1] - bounds[k])\n",
        new="        batch = (bounds[k], bounds[k + 1] - bounds[k] - 1)\n",
        why="the Boltzmann SML kernel drops the last row of every minibatch",
        tests=["tests/test_estimator_statistics.py", "-k", "boltzmann"] + BM_KERNEL,
    ),
    dict(
        id="bm-gibbs-threshold-flipped",
        file=K + "_boltzmann.py",
        old="                new = 1.0 if np.float64(F[r, i]) > T_i[r] else 0.0\n",
        new="                new = 1.0 if np.float64(F[r, i]) < T_i[r] else 0.0\n",
        why="sequential Gibbs sets a unit with probability sigmoid(-f)",
        tests=BM_KERNEL,
    ),
    dict(
        id="bm-ais-untempered-sweep",
        file=K + "_boltzmann.py",
        old="                new = 1.0 if beta * F[r, i] + base_i > T_i[r] else 0.0\n",
        new="                new = 1.0 if F[r, i] + base_i > T_i[r] else 0.0\n",
        why="the Boltzmann AIS sweep is not tempered",
        tests=BM_KERNEL,
    ),
    dict(
        id="bm-ais-base-term-sign",
        file=K + "_boltzmann.py",
        old="            log_w[r] += step * (_neg_energy(X[r], F[r], b) - base_term)\n",
        new="            log_w[r] += step * (_neg_energy(X[r], F[r], b) + base_term)\n",
        why="Boltzmann AIS weight adds the base model's term",
        tests=BM_KERNEL,
    ),
    dict(
        id="bm-sml-weight-gradient-doubled",
        file=K + "_boltzmann_train.py",
        old="        _symmetrise_rows(G, 0.5, t0, t1)\n",
        new="        _symmetrise_rows(G, 1.0, t0, t1)\n",
        why="SML weight gradient symmetrised without the 1/2 (doubled)",
        tests=BM_KERNEL,
    ),
    dict(
        id="bm-pl-gradient-halved",
        file=K + "_boltzmann_train.py",
        old=(
            "    gemm(TRANS, NO_TRANS, 1.0, R[:, :], P[:, :], 0.0, G[:, :])\n"
            "    _symmetrise(G, 1.0)\n"
        ),
        new=(
            "    gemm(TRANS, NO_TRANS, 1.0, R[:, :], P[:, :], 0.0, G[:, :])\n"
            "    _symmetrise(G, 0.5)\n"
        ),
        why="pseudo-likelihood gradient of a tied weight halved",
        tests=BM_KERNEL,
    ),
    dict(
        id="bm-exact-gradient-bias-sign",
        file=K + "_boltzmann_train.py",
        old="        g_bias[i] = acc / n_rows - mean[i]\n",
        new="        g_bias[i] = acc / n_rows + mean[i]\n",
        why="exact-likelihood bias gradient adds the model mean",
        tests=BM_KERNEL,
    ),
    dict(
        id="bm-weight-decay-sign",
        file=K + "_boltzmann_train.py",
        old="            step = lr * (G[i, j] - decay * W[i, j])\n",
        new="            step = lr * (G[i, j] + decay * W[i, j])\n",
        why="Boltzmann weight decay grows the weights",
        tests=BM_KERNEL,
    ),
    # -------------------------------------------------------------- Hopfield
    dict(
        id="hopfield-hebbian-overwrites",
        file=K + "_hopfield.py",
        old="    gemm(TRANS, NO_TRANS, 1.0 / N, S[:, :], S[:, :], 1.0, W[:, :])\n",
        new="    gemm(TRANS, NO_TRANS, 1.0 / N, S[:, :], S[:, :], 0.0, W[:, :])\n",
        why="Hebb's rule overwrites W, so partial_fit forgets earlier patterns",
        tests=HOP,
    ),
    dict(
        id="hopfield-storkey-single-w",
        file=K + "_hopfield.py",
        old="(xi * x[j] + 2.0 * W[i, j])",
        new="(xi * x[j] + W[i, j])",
        why="Storkey's rule with W_ij once instead of twice",
        tests=HOP,
    ),
    dict(
        id="hopfield-tie-goes-up",
        file=K + "_hopfield.py",
        old="        return -1.0\n    return s\n",
        new="        return -1.0\n    return 1.0\n",
        why="a zero field sets the unit to +1 instead of keeping it",
        tests=HOP,
    ),
    dict(
        id="hopfield-glauber-temperature",
        file=K + "_hopfield.py",
        old="    beta2 = 2.0 / (unit * temperature) if stochastic else 0.0\n",
        new="    beta2 = 1.0 / (unit * temperature) if stochastic else 0.0\n",
        why="Glauber updates at twice the temperature (1/T, not 2/T)",
        tests=HOP,
    ),
    dict(
        id="hopfield-energy-sign",
        file="skebm/_hopfield.py",
        old='        return -0.5 * np.einsum("ij,ij->i", S @ self.coef_, S)\n',
        new='        return 0.5 * np.einsum("ij,ij->i", S @ self.coef_, S)\n',
        why="Hopfield energy with the wrong sign",
        tests=["tests/test_hopfield.py"],
    ),
    dict(
        id="modern-hopfield-energy-half-dropped",
        file="skebm/_modern_hopfield.py",
        old="        return -lse_term + 0.5 * (Q * Q).sum(axis=1) + 0.5 * M2\n",
        new="        return -lse_term + (Q * Q).sum(axis=1) + 0.5 * M2\n",
        why="modern Hopfield energy loses the 1/2 of its xi^2 term",
        tests=["tests/test_hopfield.py"],
    ),
    # ------------------------------------------------ DBN, detector, checks
    dict(
        id="dbn-binarised-layer-input",
        file="skebm/_dbn.py",
        old="                H = rbm.transform(H)  # hidden probabilities feed",
        new="                H = (rbm.transform(H) > 0.5).astype(H.dtype)  # feed",
        why="DBN layers trained on thresholded, not probability, inputs",
        tests=["tests/test_dbn.py"],
    ),
    dict(
        id="dbn-classifier-sigmoid-derivative",
        file="skebm/_backprop.py",
        old="            delta = (delta @ coefs[layer].T) * below * (1.0 - below)\n",
        new="            delta = (delta @ coefs[layer].T) * below\n",
        why="backprop drops the (1 - a) factor of the sigmoid derivative",
        tests=["tests/test_dbn.py"],
    ),
    dict(
        id="detector-contamination-quantile-flipped",
        file="skebm/_anomaly.py",
        old="np.percentile(raw, 100.0 * self.contamination)",
        new="np.percentile(raw, 100.0 * (1.0 - self.contamination))",
        why="outlier threshold at the 1 - contamination quantile",
        tests=["tests/test_anomaly.py"],
    ),
    dict(
        id="demo-warm-up-processes-share-a-kernel",
        file="skebm/__main__.py",
        old='    X, P = _warm_data()\n    for rule in ("hebbian", "pseudoinverse"):\n',
        new=(
            "    X, P = _warm_data()\n"
            "    from skebm import GaussianBernoulliRBM\n"
            "    GaussianBernoulliRBM(2, n_iter=1, log_partition=None).fit(X)\n"
            '    for rule in ("hebbian", "pseudoinverse"):\n'
        ),
        why=(
            "the second warm-up process also trains a Gaussian RBM, so both "
            "processes add different entries to the epoch kernel's cache index"
        ),
        tests=[
            "tests/test_readme.py::test_demo_warm_up_processes_never_race_on_numba_cache_entries"
        ],
    ),
    dict(
        id="detector-lazy-offset-adds-log-z",
        file="skebm/_anomaly.py",
        old="        return self._raw_offset - self._log_z()\n",
        new="        return self._raw_offset + self._log_z()\n",
        why="offset_, computed without log Z at fit, adds it instead of removing it",
        tests=["tests/test_anomaly.py"],
    ),
    dict(
        id="detector-two-features-get-the-gaussian-rbm",
        file="skebm/_anomaly.py",
        old="    if not sparse and n_features <= AUTO_IMPORTANCE_FEATURES and",
        new="    if not sparse and n_features < AUTO_IMPORTANCE_FEATURES and",
        why="the default detector fits the Gaussian RBM to two-feature data",
        tests=["tests/test_anomaly.py::test_default_model_ranks_outliers_of_two_moons"],
    ),
    dict(
        id="detector-default-energy-density-unseeded",
        file="skebm/_anomaly.py",
        old="        return EnergyDensity(random_state=random_state)\n",
        new="        return EnergyDensity()\n",
        why="the detector's random_state does not reach its EnergyDensity",
        tests=[
            "tests/test_anomaly.py::"
            "test_two_feature_default_is_deterministic_and_survives_pickling"
        ],
    ),
    dict(
        id="detector-counts-get-energy-density",
        file="skebm/_anomaly.py",
        old=" and n_features <= AUTO_IMPORTANCE_FEATURES and not _tied(X):\n",
        new=" and n_features <= AUTO_IMPORTANCE_FEATURES:\n",
        why="two columns of counts get a Gaussian mixture that spikes on their values",
        tests=[
            "tests/test_anomaly.py::test_two_features_of_counts_keep_the_gaussian_rbm"
        ],
    ),
    dict(
        id="jit-cache-save-unlocked",
        file="skebm/_kernels/_jit.py",
        old=(
            "            with _locked_file(self._lock_path()):\n"
            "                super().save(key, data)\n"
        ),
        new="            super().save(key, data)\n",
        why="concurrent numba cache saves lose entries and share data files",
        tests=["tests/test_jit_cache.py"],
    ),
    dict(
        id="validation-unit-interval-tolerance",
        file="skebm/_validation.py",
        old=(
            "    tol = _UNIT_INTERVAL_ULPS * np.finfo(values.dtype).eps\n"
            "    return bool("
        ),
        new="    tol = _UNIT_INTERVAL_ULPS\n    return bool(",
        why="check_unit_interval clips values up to 9 instead of rejecting",
        tests=RBM_EST,
    ),
    # ------------------------------------------------- parallel tempering
    dict(
        id="pt-swap-ratio-sign",
        file=K + "_tempering.py",
        old="log_ratio = (betas[k] - betas[k + 1]) * (energy[a] - energy[b])",
        new="log_ratio = (betas[k] - betas[k + 1]) * (energy[b] - energy[a])",
        why="swaps accepted with the inverse Metropolis-Hastings ratio",
        tests=PT,
    ),
    dict(
        id="pt-hidden-untempered",
        file=K + "_tempering.py",
        old="            row[k] = sigmoid(row[k] * beta)\n",
        new="            row[k] = sigmoid(row[k])\n",
        why="hot chains' hidden probabilities taken at beta = 1",
        tests=PT,
    ),
    dict(
        id="pt-energy-drops-interaction",
        file=K + "_tempering.py",
        old="                e -= row[c] * saved[c]\n",
        new="                e -= row[c]\n",
        why="swap energy of binary units without the visible input h W + b",
        tests=PT,
    ),
    # ------------------------------------------------ clamped sampling
    dict(
        id="rbm-clamp-only-at-the-end",
        file=K + "_rbm_inference.py",
        old="                    if clamp[r, c]:\n",
        new="                    if clamp[r, c] and _ == n_steps - 1:\n",
        why="clamped RBM chains run free and are clamped after the last draw",
        tests=CLAMPED,
    ),
    dict(
        id="bm-pinned-units-updated",
        file=K + "_boltzmann.py",
        old="                    if pinned[r, i]:\n                        continue\n",
        new="                    if pinned[r, i]:\n                        pass\n",
        why="the Boltzmann sampler updates the clamped (pinned) units",
        tests=CLAMPED,
    ),
    # ------------------------------------------------ MCMC (skebm.sampling)
    dict(
        id="mcmc-mala-without-correction",
        file=K + "_mcmc.py",
        old="        log_ratio += (forth - back) / (2.0 * step * step)\n",
        new="        log_ratio += 0.0 * (forth - back)\n",
        why="MALA accepts without the proposal-density ratio",
        tests=MCMC,
    ),
    dict(
        id="mcmc-gradient-network-term-sign",
        file=K + "_energy_net.py",
        old="                    gx[i] += theta[row + i] * d\n",
        new="                    gx[i] -= theta[row + i] * d\n",
        why="the energy's input gradient with the network term's sign flipped",
        tests=MCMC,
    ),
    # ------------------------------------------- EnergyDensity (issue 21)
    dict(
        id="energy-net-backprop-without-activation-derivative",
        file=K + "_energy_net.py",
        old="                work[nxt + i] *= sigmoid(work[prev + i])\n",
        new="                work[nxt + i] *= 1.0\n",
        why="back-propagation through a hidden layer forgets softplus' slope",
        tests=DENSITY,
    ),
    dict(
        id="ais-continuous-weight-sign",
        file=K + "_mcmc.py",
        old="        log_w += gap * (base_energy(base, x) - e1)\n",
        new="        log_w += gap * (e1 - base_energy(base, x))\n",
        why="the AIS weight increment of the continuous energy has its sign flipped",
        tests=DENSITY,
    ),
    dict(
        id="energy-density-unwhitening-inverted",
        file="skebm/_energy_density.py",
        old="        return np.linalg.solve(self.whitening_, U.T).T + self.mean_\n",
        new="        return U @ self.whitening_ + self.mean_\n",
        why="samples are mapped back to data units by the whitening, not its inverse",
        tests=DENSITY,
    ),
    dict(
        id="energy-density-negative-phase-dropped",
        file="skebm/_energy_density_training.py",
        old="        grad = g_pos + g_neg\n",
        new="        grad = g_pos + 0.0 * g_neg\n",
        why="training follows the data's gradient only (no negative phase)",
        tests=DENSITY,
    ),
    dict(
        id="mixture-energy-gradient-without-responsibility",
        file=K + "_energy_net.py",
        old="            g[i] += r * acc\n",
        new="            g[i] += acc / K\n",
        why="the mixture gradient weighs components equally, not by responsibility",
        tests=BASE,
    ),
    dict(
        id="importance-weights-sign",
        file="skebm/_energy_base.py",
        old="    log_w = -network_energies(model, U)\n",
        new="    log_w = network_energies(model, U)\n",
        why="importance weights exp(+v.z) instead of exp(-v.z)",
        tests=BASE,
    ),
    dict(
        id="importance-negative-phase-unweighted",
        file="skebm/_energy_density_training.py",
        old="            e_neg, g_neg = self._weighted_grad(model, draws, -weights)\n",
        new="            e_neg, g_neg = self._weighted_grad(model, draws, -1.0)\n",
        why="the model's side averages the base's draws without their weights",
        tests=BASE,
    ),
    dict(
        id="base-selection-ignores-standard-error",
        file="skebm/_energy_base.py",
        old="    return bool(gain.mean() > error)\n",
        new="    return bool(gain.mean() > -error)\n",
        why="the network is kept unless it loses by a standard error (rule inverted)",
        tests=BASE,
    ),
    dict(
        id="whitening-floors-empty-directions",
        file="skebm/_energy_base.py",
        old="    empty = raw <= max(X.shape) * eps * natural\n",
        new="    empty = raw < 0.0\n",
        why="constant or collinear columns' rounding noise grows 1e6 times",
        tests=[
            "tests/test_energy_base.py::"
            "test_constant_collinear_and_narrow_columns_are_whitened_in_proportion"
        ],
    ),
    dict(
        id="mixture-sample-starts-from-training-chains",
        file="skebm/_energy_density.py",
        old="            start = draws[picks]\n",
        new="            start = resize_chains(self.chains_, int(n_samples))\n",
        why="sample() of a mixture-base model repeats the training chains",
        tests=BASE,
    ),
    dict(
        id="mcmc-hmc-kinetic-energy-ignored",
        file=K + "_mcmc.py",
        old="        return ey, (e + kinetic) - (ey + new_kinetic)\n",
        new="        return ey, e - ey\n",
        why="HMC accepts on the potential energy alone",
        tests=MCMC,
    ),
    # ------------------------------------------------ deep Boltzmann machine
    dict(
        id="dbm-doubling-ignored-by-sampler",
        file=K + "_dbm.py",
        old="NO_TRANS, scales[i, 0], below, W[:, :], 1.0, out[:, :])\n",
        new="NO_TRANS, 1.0, below, W[:, :], 1.0, out[:, :])\n",
        why="a layer's input from below ignores the pretraining's doubling",
        tests=DBM,
    ),
    dict(
        id="dbm-mean-field-skips-even-layers",
        file=K + "_dbm.py",
        old="        for parity in (1, 0):\n",
        new="        for parity in (1,):\n",
        why="mean-field sweeps update the odd layers only",
        tests=DBM,
    ),
    dict(
        id="dbm-gibbs-visible-layer-frozen",
        file=K + "_dbm.py",
        old="        for i in range(first, sizes.shape[0], 2):\n",
        new="        for i in range(first if first else 2, sizes.shape[0], 2):\n",
        why="Gibbs sweeps never redraw the visible layer",
        tests=DBM,
    ),
    dict(
        id="dbm-negative-statistics-over-minibatch-size",
        file=K + "_dbm.py",
        old="        gemm(TRANS, NO_TRANS, -learning_rate / m,",
        new="        gemm(TRANS, NO_TRANS, -learning_rate / k,",
        why="the chains' statistics are divided by the minibatch size",
        tests=DBM,
    ),
    dict(
        id="dbm-bipartite-transposed-odd-block",
        file="skebm/_dbm_model.py",
        old="        block = W if i % 2 == 0 else W.T\n",
        new="        block = W if i % 2 == 0 else W[::-1].T\n",
        why="the bipartite RBM gets a layer pair between odd and even layers wrong",
        tests=DBM,
    ),
    dict(
        id="dbm-bound-without-entropy",
        file="skebm/_dbm_model.py",
        old="        + entr(1.0 - MU[:, offsets[1] :]).sum(1)\n",
        new="\n",
        why="the mean-field bound drops half of the entropy",
        tests=DBM,
    ),
    dict(
        id="dbm-learning-rate-not-decayed",
        file="skebm/_deep_boltzmann.py",
        old="float(self.learning_rate) * (1.0 - (1.0 - MIN_LR_FRACTION) * progress),\n",
        new="float(self.learning_rate),\n",
        why="fit keeps the learning rate constant",
        tests=DBM,
    ),
    dict(
        id="dbm-swap-rule-sign",
        file=K + "_dbm.py",
        old="(betas[k] - betas[k + 1]) * (energy[a] - energy[b])\n",
        new="(betas[k] - betas[k + 1]) * (energy[b] - energy[a])\n",
        why="replica exchanges accepted with the inverse Metropolis ratio",
        tests=DBM,
    ),
    dict(
        id="dbm-tempered-chains-in-gradient",
        file=K + "_dbm.py",
        old="_update(model, velocity, batch, chains[:n_cold], hyper)\n",
        new="_update(model, velocity, batch, chains, hyper)\n",
        why="chains at every temperature enter the gradient",
        tests=DBM,
    ),
    # ------------------------------------------- softmax visible groups
    dict(
        id="softmax-groups-drawn-as-bits",
        file=K + "_layers.py",
        old="    if groups is not None:\n        softmax_sample_(pre, groups, state)\n",
        new="    if groups is not None:\n        bernoulli_mean_sample_(pre, state)\n",
        why="softmax groups sampled as independent binary units",
        tests=CATEGORICAL,
    ),
    dict(
        id="softmax-draw-off-by-one",
        file=K + "_layers.py",
        old="                    if u < acc:  # leaves the cumulative sum below u\n",
        new="                    if u < acc - row[k]:  # shifted inversion\n",
        why="the inverse-CDF draw picks the category after the right one",
        tests=CATEGORICAL,
    ),
    dict(
        id="grouped-log-term-without-max",
        file=K + "_ais.py",
        old="        acc += m + np.log(total)\n",
        new="        acc += np.log(total)\n",
        why="a summed-out softmax group loses its log-sum-exp shift",
        tests=CATEGORICAL,
    ),
    dict(
        id="categorical-ais-base-as-bits",
        file="skebm/partition.py",
        old="np.logaddexp.reduceat(eta, np.asarray(groups[:-1])).sum()",
        new="np.logaddexp(0.0, eta).sum()",
        why="the AIS base of softmax groups normalised as independent bits",
        tests=CATEGORICAL,
    ),
]
