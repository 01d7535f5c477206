"""
==============================================================
A deep Boltzmann machine on digits: filters, samples, features
==============================================================

Train a :class:`skebm.DeepBoltzmannMachine` with two hidden layers (64 and
32 units) on scikit-learn's 8×8 digits, binarised, then look at what it
learned:

- the first hidden layer's filters (columns of ``coefs_[0]``);
- samples from the machine (:meth:`~skebm.DeepBoltzmannMachine.sample`:
  alternating Gibbs sweeps over all layers), next to real digits, and how
  a chain changes with the number of sweeps;
- its held-out log-likelihood, and whether that number is exact or a
  bound (``free_energy_method_``, ``log_partition_method_``);
- its mean-field features (:meth:`~skebm.DeepBoltzmannMachine.transform`)
  as the input of a logistic regression.

See :ref:`deep_boltzmann` for the maths.
"""

# %%
# Binary digits and a two-hidden-layer machine
# --------------------------------------------
# The pixels (0 to 16) are binarised at 8 (``X > 7``), so that
# ``score_samples`` is a log-probability. The defaults
# (``learning_rate=0.03``, ``batch_size=50``, ``n_iter=10``,
# ``pretrain_n_iter=20``) were chosen on 4000 MNIST digits, where they make
# 800 updates of joint training; with these 1347 training images they make
# only 270 (a held-out score of about -19.9 nats for this machine). This
# example keeps the defaults but trains for 300 epochs (about 8000
# updates, -16.9), the learning rate decaying over them. ``history_``
# records the reconstruction error of the visible units from the first
# hidden layer's mean-field posterior.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skebm import DeepBoltzmannMachine

X, y = load_digits(return_X_y=True)
X = (X > 7).astype(np.float64)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
params = dict(n_iter=300, random_state=0)
dbm = DeepBoltzmannMachine((64, 32), **params).fit(X_train)
print("weights:", [W.shape for W in dbm.coefs_])
error = dbm.history_["reconstruction_error"]
print(f"reconstruction error: {error[0]:.4f} after epoch 1, {error[-1]:.4f} after 300")

# %%
# First-layer filters
# -------------------
# Column ``j`` of ``coefs_[0]`` holds the weights between the 64 pixels and
# unit ``j`` of the first hidden layer: red pixels switch the unit on, blue
# ones off. Unlike a DBN's first layer, these units also receive input
# from the 32 units above them.
W = dbm.coefs_[0]
limit = np.abs(W).max()
fig, axes = plt.subplots(8, 8, figsize=(5.5, 5.8), layout="constrained")
for ax, w in zip(axes.ravel(), W.T):
    ax.imshow(w.reshape(8, 8), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_axis_off()
fig.suptitle("coefs_[0]: 64 first-layer filters")
plt.show()

# %%
# Samples next to real digits
# ---------------------------
# :meth:`~skebm.DeepBoltzmannMachine.sample` starts each chain from fair
# coin flips in every layer and runs alternating Gibbs sweeps: the odd
# layer (the first hidden one) given the even ones, then the visible and
# the top layer given it. The samples are binary, like the data.
samples = dbm.sample(30, n_steps=1000, random_state=0)
fig, (left, right) = plt.subplots(1, 2, figsize=(8, 2.3), layout="constrained")
for panel, images, title in (
    (left, samples, "dbm.sample(30, n_steps=1000)"),
    (right, X_test[:30], "30 held-out digits"),
):
    # three rows of ten digits, one white pixel around each
    grid = np.pad(images.reshape(3, 10, 8, 8), ((0, 0), (0, 0), (1, 1), (1, 1)))
    grid = grid.transpose(0, 2, 1, 3).reshape(3 * 10, 10 * 10)
    panel.imshow(grid, cmap="gray_r", vmin=0, vmax=1)
    panel.set_title(title)
    panel.set_axis_off()
plt.show()

# %%
# Longer chains
# -------------
# The same eight chains (same ``random_state``: the same random starts and
# the same random draws) stopped after more and more sweeps. One sweep
# already turns the coin flips into noisy strokes; after a few tens of
# sweeps the chains show digits, and they then wander from one digit to
# another.
steps = [1, 5, 20, 100, 1000, 5000]
fig, axes = plt.subplots(8, len(steps), figsize=(6, 8))
for col, n_steps in enumerate(steps):
    images = dbm.sample(8, n_steps=n_steps, random_state=1)
    axes[0, col].set_title(f"{n_steps}", fontsize=9)
    for row in range(8):
        axes[row, col].imshow(images[row].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        axes[row, col].set_axis_off()
fig.suptitle("dbm.sample(8, n_steps=...): the same chains after more sweeps")
plt.show()

# %%
# Held-out log-likelihood: exact or a bound?
# ------------------------------------------
# ``score`` is the mean of ``score_samples``, :math:`\log p(v) = -F(v) -
# \log Z` in nats per image. Neither term is free for a DBM. The free
# energy :math:`F(v)` sums over every hidden layer: it is exact only when
# the even hidden layers or the odd ones are few enough to enumerate;
# here (32 and 64 units) it is the mean-field bound, which makes the score
# a lower bound. :math:`\log Z` is that of the RBM between the even layers
# (64 visible + 32 units) and the odd layer (64 units): too large to
# enumerate, so it is estimated by annealed importance sampling.
print(f"free_energy_method_:   {dbm.free_energy_method_}")
print(f"log_partition_method_: {dbm.log_partition_method_}")
print(f"log Z = {dbm.log_partition_:.2f} ± {dbm.log_partition_stderr_:.2f}")
print(f"held-out score (64, 32): {dbm.score(X_test):.2f} nats per image")

# %%
# For scale: independent pixels with the training set's frequencies (a
# model with 64 parameters), and a DBM small enough that both terms are
# exact (16 and 12 hidden units: :math:`2^{12}` states of the even hidden
# layer per image, :math:`2^{16}` states of the odd layer for
# :math:`\log Z`), trained with the same settings. When the larger
# machine's bound is above the smaller one's exact score, the larger machine
# is the better density model: its true score can only be higher (up to the
# error of its AIS :math:`\log Z`).
p = (X_train.sum(0) + 1) / (len(X_train) + 2)
independent = np.mean(X_test @ np.log(p) + (1 - X_test) @ np.log(1 - p))
print(f"held-out score, independent pixels: {independent:.2f}")

small = DeepBoltzmannMachine((16, 12), **params).fit(X_train)
print(
    f"held-out score (16, 12): {small.score(X_test):.2f} "
    f"(free_energy_method_={small.free_energy_method_!r}, "
    f"log_partition_method_={small.log_partition_method_!r})"
)

# %%
# Features for a classifier
# -------------------------
# :meth:`~skebm.DeepBoltzmannMachine.transform` returns the mean-field
# posteriors of both hidden layers side by side (64 + 32 columns), which
# can feed any classifier (in a :class:`~sklearn.pipeline.Pipeline`, the
# DBM is simply the step before it). On these small images a linear model
# on the raw pixels is a strong baseline.
features = LogisticRegression(max_iter=3000).fit(dbm.transform(X_train), y_train)
pixels = LogisticRegression(max_iter=3000).fit(X_train, y_train)
accuracy = features.score(dbm.transform(X_test), y_test)
print(f"logistic regression on transform features: {accuracy:.3f}")
print(f"logistic regression on the pixels:         {pixels.score(X_test, y_test):.3f}")
