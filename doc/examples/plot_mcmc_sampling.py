"""
===========================================
Sampling an RBM's density with MALA and HMC
===========================================

A :class:`skebm.GaussianBernoulliRBM` with learned variances is fitted to
two-dimensional data (two moons). Its visible density
:math:`p(v) \\propto e^{-F(v)}` is drawn as contours, and
:mod:`skebm.sampling` draws from it with the Metropolis-adjusted Langevin
algorithm and with Hamiltonian Monte Carlo, one chain per point, each
adapting its step size during warm-up. The model's own block Gibbs sampler
(:meth:`~skebm.GaussianBernoulliRBM.sample`) is shown for comparison: all
three target the same density. See :ref:`gaussian_rbm`.
"""

# %%
# Fit the model
# -------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.preprocessing import StandardScaler

from skebm import GaussianBernoulliRBM, sampling

X = StandardScaler().fit_transform(
    make_moons(n_samples=500, noise=0.08, random_state=0)[0]
)
rbm = GaussianBernoulliRBM(
    n_components=32, learn_sigma=True, k=5, persistent=False, n_iter=200, random_state=0
).fit(X)

# %%
# Sample it three ways
# --------------------
rng = np.random.RandomState(0)
starts = rng.normal(scale=1.5, size=(500, 2))
mala = sampling.mala(rbm, starts, n_steps=300, n_warmup=300, random_state=0)
hmc = sampling.hmc(rbm, starts, n_steps=100, n_warmup=100, random_state=0)
gibbs = rbm.sample(500, n_steps=300, random_state=0)
print(f"MALA: acceptance {mala.acceptance_rate.mean():.2f}, "
      f"step {np.median(mala.step_size):.3f}")  # fmt: skip
print(f"HMC:  acceptance {hmc.acceptance_rate.mean():.2f}, "
      f"step {np.median(hmc.step_size):.3f}")  # fmt: skip

# %%
# The density and the draws
# -------------------------
# Contours of the unnormalised density exp(-F(v)) (the free energy is cheap:
# no partition function needed). The model's density is smoother than the
# moons: a mixture of Gaussians that share one width per feature blurs the
# thin arcs. The three samplers agree with the model, which is what a
# sampler can promise, rather than with the data.
grid = np.linspace(-2.8, 2.8, 120)
G = np.array(np.meshgrid(grid, grid)).reshape(2, -1).T
F = rbm.free_energy(G)
density = np.exp(-(F - F.min())).reshape(len(grid), len(grid))

panels = [("training data", X), ("MALA", mala.samples), ("HMC", hmc.samples),
          ("block Gibbs (sample)", gibbs)]  # fmt: skip
fig, axes = plt.subplots(1, 4, figsize=(13, 3.6), sharex=True, sharey=True,
                         layout="constrained")  # fmt: skip
for ax, (title, points) in zip(axes, panels):
    ax.contourf(grid, grid, density, levels=12, cmap="Blues")
    ax.scatter(points[:, 0], points[:, 1], s=4, c="k", alpha=0.6)
    ax.set_title(title)
    ax.set_aspect("equal")
fig.suptitle("GaussianBernoulliRBM on two moons: exp(-F(v)) and 500 draws each")
plt.show()
