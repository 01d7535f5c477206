"""
============================================================================
Energy-based densities on 2-D data next to GaussianMixture and KernelDensity
============================================================================

:class:`skebm.EnergyDensity` models a density as
:math:`p(x) = e^{-E(x)} / Z` with a learned neural energy :math:`E`. It is
fitted here, with its default hyperparameters, to three two-dimensional
sets of 500 training rows: two moons (``make_moons``, ``noise=0.1``), two
circles (``make_circles``, ``noise=0.05``, ``factor=0.5``) and a ring of
eight Gaussians (centres :math:`2(\\cos(2\\pi k/8), \\sin(2\\pi k/8))`,
standard deviation 0.1). Next to it are two scikit-learn density
estimators: a :class:`~sklearn.mixture.GaussianMixture` with full
covariances whose number of components (1 to 12) is chosen by BIC, and a
:class:`~sklearn.neighbors.KernelDensity` whose bandwidth is chosen by
5-fold cross-validation over ``np.logspace(-2, 0, 20)``. Every model is
scored by its mean log-likelihood on 500 fresh rows drawn with another
seed. See :ref:`energy_density`.
"""

# %%
# Three data sets
# ---------------
# Each set is drawn twice: once to fit the models, once (another seed) to
# score them.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_circles, make_moons
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity

from skebm import EnergyDensity


def make_ring(n_samples, random_state):
    """Eight Gaussians (sd 0.1) on a circle of radius 2."""
    rng = np.random.RandomState(random_state)
    angles = 2 * np.pi * rng.randint(8, size=n_samples) / 8
    centres = 2 * np.column_stack([np.cos(angles), np.sin(angles)])
    return centres + 0.1 * rng.normal(size=(n_samples, 2))


makers = {
    "moons": lambda seed: make_moons(500, noise=0.1, random_state=seed)[0],
    "circles": lambda seed: make_circles(
        500, noise=0.05, factor=0.5, random_state=seed
    )[0],
    "8 Gaussians": lambda seed: make_ring(500, seed),
}
data = {name: (make(0), make(1)) for name, make in makers.items()}

# %%
# Fit the three estimators
# ------------------------
# The mixture's number of components and the kernel's bandwidth are tuned
# on the training rows; :class:`~skebm.EnergyDensity` keeps its defaults.
# On two features these train the network on a Gaussian-mixture base by
# importance sampling, and its ``score_samples`` estimates :math:`\log Z`
# once, by importance sampling from that base.


def fit_mixture(X):
    mixtures = [
        GaussianMixture(k, covariance_type="full", random_state=0).fit(X)
        for k in range(1, 13)
    ]
    return min(mixtures, key=lambda gmm: gmm.bic(X))


def fit_kde(X):
    search = GridSearchCV(KernelDensity(), {"bandwidth": np.logspace(-2, 0, 20)}, cv=5)
    return search.fit(X).best_estimator_


models, draws = {}, {}
for name, (X_train, _) in data.items():
    energy_model = EnergyDensity(random_state=0).fit(X_train)
    draws[name] = energy_model.sample(300, random_state=0)
    models[name] = {
        "EnergyDensity": energy_model,
        "GaussianMixture": fit_mixture(X_train),
        "KernelDensity": fit_kde(X_train),
    }

# %%
# Held-out log-likelihood
# -----------------------
# Mean :math:`\log p(x)` per test row (higher is better).
held_out = {
    name: {
        label: model.score_samples(data[name][1]).mean()
        for label, model in models[name].items()
    }
    for name in data
}
labels = list(models["moons"])
print(f"{'data set':<12}" + "".join(f"{label:>17}" for label in labels))
for name, scores in held_out.items():
    print(f"{name:<12}" + "".join(f"{scores[label]:>17.3f}" for label in labels))
for name, model in models.items():
    gmm, kde = model["GaussianMixture"], model["KernelDensity"]
    print(f"{name}: {gmm.n_components} components, bandwidth {kde.bandwidth:.3f}")

# %%
# The densities
# -------------
# Each density is drawn on a grid around its data set; the dots on the
# :class:`~skebm.EnergyDensity` panels are 300 of its own MCMC samples
# (:meth:`~skebm.EnergyDensity.sample`), which should fall where its
# density is high. On the smooth arcs and rings the network bends a base
# of a few Gaussians towards the data. The eight tight clusters need eight
# components, which BIC finds; the network on a base of at most five loses
# to that mixture on held-out rows, so the model keeps the mixture alone
# (its network switched off); see :ref:`energy_density`.
fig, axes = plt.subplots(3, 4, figsize=(12, 9))
for row, (name, (X_train, _)) in zip(axes, data.items()):
    low, high = X_train.min(axis=0) - 0.5, X_train.max(axis=0) + 0.5
    xs, ys = np.linspace(low[0], high[0], 120), np.linspace(low[1], high[1], 120)
    grid = np.column_stack([a.ravel() for a in np.meshgrid(xs, ys)])
    extent = (low[0], high[0], low[1], high[1])

    row[0].scatter(X_train[:, 0], X_train[:, 1], s=4, c="k", alpha=0.6)
    row[0].set_title(f"{name}: training data")
    for ax, (label, model) in zip(row[1:], models[name].items()):
        density = np.exp(model.score_samples(grid)).reshape(len(ys), len(xs))
        ax.imshow(density, origin="lower", extent=extent, cmap="viridis")
        ax.set_title(f"{label}\nheld-out {held_out[name][label]:.2f}")
    samples = draws[name]
    row[1].scatter(samples[:, 0], samples[:, 1], s=2, c="r", alpha=0.7)
    for ax in row:
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_aspect("equal")
plt.tight_layout()
plt.show()
