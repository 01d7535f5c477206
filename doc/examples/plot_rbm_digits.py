"""
===================================================
Filters, samples and likelihood of an RBM on digits
===================================================

Fit a :class:`skebm.BernoulliRBM` with 64 hidden units to scikit-learn's
8×8 handwritten digits, binarised, and look at what it learned:

- the weights of each hidden unit (its "filter"), as an 8×8 image;
- the held-out log-likelihood during training, from an AIS estimate of the
  partition function (:func:`skebm.partition.ais_log_partition`), next to the
  cheap per-epoch proxies recorded in ``history_``;
- block Gibbs chains started from test digits (:meth:`~skebm.BernoulliRBM.gibbs`)
  and fresh samples from random starts (:meth:`~skebm.BernoulliRBM.sample`).

See :ref:`rbm` for the model and :ref:`partition_function` for what the
log-likelihood means.
"""

# %%
# Data
# ----
# The digits have 16 grey levels; thresholding at 8 gives binary images,
# for which ``score_samples`` is a true log-probability.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skebm import BernoulliRBM
from skebm.partition import ais_log_partition

X = (load_digits().data >= 8).astype(np.float64)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
print(f"{X_train.shape[0]} training and {X_test.shape[0]} test images")

# %%
# Training, one epoch per ``partial_fit`` call
# ---------------------------------------------
# ``partial_fit`` runs one epoch of persistent contrastive divergence over
# its input, in minibatches of ``batch_size`` rows. With ``k=1`` and this
# learning rate the held-out likelihood zig-zags from epoch to epoch; five
# Gibbs steps per minibatch (``k=5``) keep the persistent chains closer to
# the model and gave a steadier and higher curve here.
#
# ``log_partition=None`` skips the estimate of log Z that each call would
# otherwise make; instead we estimate it every five epochs with
# :func:`~skebm.partition.ais_log_partition` and score the test images as
# ``-free_energy(X) - log Z``.
rbm = BernoulliRBM(
    n_components=64,
    learning_rate=0.05,
    batch_size=10,
    k=5,
    random_state=0,
    log_partition=None,
)
n_epochs = 40
checkpoints, held_out, held_out_err = [], [], []
for epoch in range(1, n_epochs + 1):
    rbm.partial_fit(X_train)
    if epoch % 5 == 0:
        log_z, stderr = ais_log_partition(rbm, X_train, random_state=0)
        checkpoints.append(epoch)
        held_out.append(np.mean(-rbm.free_energy(X_test) - log_z))
        held_out_err.append(stderr)
print(
    f"held-out log-likelihood after {n_epochs} epochs: {held_out[-1]:.2f} nats "
    f"per image (AIS standard error of log Z: {held_out_err[-1]:.3f})"
)

# %%
# The held-out log-likelihood is what the model is trained to increase; the
# pseudo-log-likelihood and reconstruction error in ``history_`` are cheap
# proxies computed on 256 training rows after every epoch.
history = rbm.history_
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), layout="constrained")
axes[0].errorbar(checkpoints, held_out, yerr=held_out_err, marker="o")
axes[0].set(title="held-out log p(v) (AIS)", xlabel="epoch", ylabel="nats / image")
axes[1].plot(history["epoch"], history["pseudo_log_likelihood"])
axes[1].set(title="history_: pseudo-log-likelihood", xlabel="epoch")
axes[2].plot(history["epoch"], history["reconstruction_error"])
axes[2].set(title="history_: reconstruction error", xlabel="epoch")
plt.show()

# %%
# Filters
# -------
# Row ``j`` of ``components_`` holds the weights from hidden unit ``j`` to
# the 64 pixels. Red pixels switch the unit on, blue ones switch it off;
# most units respond to strokes or stroke fragments.
fig, axes = plt.subplots(8, 8, figsize=(6, 6.3), layout="constrained")
limit = np.abs(rbm.components_).max()
for ax, w in zip(axes.ravel(), rbm.components_):
    ax.imshow(w.reshape(8, 8), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_axis_off()
fig.suptitle("components_: one 8x8 filter per hidden unit")
plt.show()

# %%
# Gibbs chains from test digits
# -----------------------------
# Each row starts at a test digit and applies :meth:`~skebm.BernoulliRBM.gibbs`
# (one block Gibbs step ``v -> h -> v'``) repeatedly. The chains stay near
# the data for a while, then wander between digit-like shapes: the model's
# modes.
steps_shown = [0, 1, 2, 5, 10, 50, 200, 1000]
v = X_test[:6]
frames = {0: v}
for step in range(1, max(steps_shown) + 1):
    v = rbm.gibbs(v)
    if step in steps_shown:
        frames[step] = v
fig, axes = plt.subplots(6, len(steps_shown), figsize=(8, 6.4))
for col, step in enumerate(steps_shown):
    axes[0, col].set_title(str(step))
    for row in range(6):
        axes[row, col].imshow(frames[step][row].reshape(8, 8), cmap="gray_r")
        axes[row, col].set_axis_off()
fig.suptitle("Gibbs chains from test digits, after 0 to 1000 steps")
plt.show()

# %%
# Samples from random starts
# --------------------------
# :meth:`~skebm.BernoulliRBM.sample` runs independent chains from uniformly
# random pixels and returns their state after ``n_steps`` steps.
samples = rbm.sample(32, n_steps=1000, random_state=1)
fig, axes = plt.subplots(4, 8, figsize=(8, 4.4))
for ax, image in zip(axes.ravel(), samples):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_axis_off()
fig.suptitle("rbm.sample(32, n_steps=1000)")
plt.show()
