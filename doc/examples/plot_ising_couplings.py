"""
==========================================
Learning the couplings of an Ising model
==========================================

A fully visible Boltzmann machine (``n_hidden=0``) is an Ising model with
0/1 spins: ``p(x) ∝ exp(Σ_{i<j} W_ij x_i x_j + Σ_i b_i x_i)``. Here we pick a
coupling matrix, draw exact samples from the model it defines, and fit
:class:`skebm.BoltzmannMachine` to those samples in two ways: by maximising
the pseudo-likelihood (fast and deterministic) and by stochastic maximum
likelihood with persistent sequential-Gibbs chains. Both recover the
couplings, up to the sampling noise of a finite data set.

See :ref:`boltzmann` for the model and the training methods.
"""

# %%
# A known model and exact samples from it
# ---------------------------------------
# Twelve units on a ring with nearest-neighbour couplings of alternating
# sign, two long-range couplings and random biases. With 2**12 states we can
# enumerate the distribution and sample from it exactly.
import matplotlib.pyplot as plt
import numpy as np

from skebm import BoltzmannMachine

n = 12
rng = np.random.RandomState(0)
W_true = np.zeros((n, n))
for i in range(n):
    j = (i + 1) % n
    W_true[i, j] = W_true[j, i] = 1.2 if i % 2 == 0 else -0.8
W_true[0, 6] = W_true[6, 0] = 1.5
W_true[3, 9] = W_true[9, 3] = -1.5
b_true = rng.normal(-0.2, 0.5, n)

states = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)
neg_energy = 0.5 * np.einsum("si,ij,sj->s", states, W_true, states) + states @ b_true
log_z = np.logaddexp.reduce(neg_energy)
p = np.exp(neg_energy - log_z)
X_train = states[rng.choice(len(states), 5000, p=p)]
X_test = states[rng.choice(len(states), 5000, p=p)]
true_log_lik = np.mean(
    0.5 * np.einsum("si,ij,sj->s", X_test, W_true, X_test) + X_test @ b_true - log_z
)

# %%
# Fit by pseudo-likelihood and by stochastic maximum likelihood
# -------------------------------------------------------------
# Pseudo-likelihood maximises ``Σ_i log p(x_i | x_-i)``: no sampling and no
# partition function, a convex problem. SML follows the exact likelihood
# gradient with the model's expectations estimated by 100 persistent chains,
# each advanced by one sequential Gibbs sweep per minibatch.
pl = BoltzmannMachine(
    method="pseudolikelihood", batch_size=100, learning_rate=0.2, n_iter=30
).fit(X_train)
sml = BoltzmannMachine(
    method="sml",
    batch_size=100,
    n_chains=100,
    learning_rate=0.01,
    momentum=0.9,
    n_iter=40,
    random_state=0,
).fit(X_train)

iu = np.triu_indices(n, 1)
print("held-out log-likelihood (nats per row) and coupling RMS error")
print(f"  {'true model':<18s} {true_log_lik:.4f}")
for name, model in [("pseudo-likelihood", pl), ("SML", sml)]:
    rms = np.sqrt(np.mean((model.coef_[iu] - W_true[iu]) ** 2))
    print(f"  {name:<18s} {model.score(X_test):.4f}   RMS error {rms:.3f}")

# %%
# True and learned coupling matrices
# ----------------------------------
# Same colour scale in all three panels; the diagonal is zero by
# construction.
fig, axes = plt.subplots(1, 4, figsize=(13, 3.4), layout="constrained")
panels = [("true W", W_true), ("pseudo-likelihood", pl.coef_), ("SML", sml.coef_)]
for ax, (title, W) in zip(axes, panels):
    im = ax.imshow(W, cmap="RdBu_r", vmin=-1.6, vmax=1.6)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(im, ax=axes[:3], shrink=0.8, label="coupling")

ax = axes[3]
ax.plot([-1.7, 1.7], [-1.7, 1.7], color="0.7", lw=1)
ax.scatter(W_true[iu], pl.coef_[iu], s=14, label="pseudo-likelihood")
ax.scatter(W_true[iu], sml.coef_[iu], s=14, marker="x", label="SML")
ax.set_xlabel("true coupling")
ax.set_ylabel("learned coupling")
ax.legend(loc="upper left", fontsize="small")
plt.show()
