"""
=================================================
A deep belief network on digits: filters, samples
=================================================

Train a :class:`skebm.DeepBeliefNetwork` greedily on scikit-learn's 8×8
digits, then look at what it learned:

- the first layer's filters (rows of ``rbms_[0].components_``);
- samples from the generative model (:meth:`~skebm.DeepBeliefNetwork.sample`:
  Gibbs sampling in the top RBM, then a mean down-pass), and how they change
  with the number of Gibbs steps;
- what fine-tuning the same stack with labels gives
  (:class:`skebm.DBNClassifier`), with and without pretraining.

See :ref:`dbn` for the maths.
"""

# %%
# Greedy pretraining
# ------------------
# Pixel intensities scaled to [0, 1] feed a :class:`~skebm.BernoulliRBM`
# with 100 hidden units; a second RBM with 50 units is trained on the first
# one's hidden probabilities. ``rbms_`` holds both fitted RBMs.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skebm import DBNClassifier, DeepBeliefNetwork

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
dbn = DeepBeliefNetwork(
    hidden_layer_sizes=(100, 50), learning_rate=0.05, n_iter=50, random_state=0
).fit(X_train)
for rbm in dbn.rbms_:
    print(rbm.__class__.__name__, rbm.components_.shape)

# %%
# First-layer filters
# -------------------
# Row ``j`` of ``rbms_[0].components_`` holds the weights from hidden unit
# ``j`` to the 64 pixels: red pixels switch the unit on, blue ones off.
W = dbn.rbms_[0].components_
limit = np.abs(W).max()
fig, axes = plt.subplots(10, 10, figsize=(6.5, 6.8), layout="constrained")
for ax, w in zip(axes.ravel(), W):
    ax.imshow(w.reshape(8, 8), cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_axis_off()
fig.suptitle("rbms_[0].components_: 100 first-layer filters")
plt.show()

# %%
# Samples from the network
# ------------------------
# :meth:`~skebm.DeepBeliefNetwork.sample` runs block Gibbs chains in the top
# RBM (50 units over the 100 first-layer units) from random starts, then
# maps the first-layer states down to pixel probabilities through the
# first RBM's weights.
samples = dbn.sample(40, n_steps=1000, random_state=0)
fig, axes = plt.subplots(4, 10, figsize=(8, 3.6))
for ax, image in zip(axes.ravel(), samples):
    ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_axis_off()
fig.suptitle("dbn.sample(40, n_steps=1000)")
plt.show()

# %%
# Longer chains in the top RBM
# ----------------------------
# The same eight chains (same ``random_state``, so the same random starts
# and random draws) stopped after more and more Gibbs steps: even after one
# step the down-pass turns the top RBM's states into stroke-like images,
# and the chains then wander from one digit-like shape to another.
steps = [1, 5, 20, 100, 500, 2000]
fig, axes = plt.subplots(8, len(steps), figsize=(6, 8))
for col, n_steps in enumerate(steps):
    images = dbn.sample(8, n_steps=n_steps, random_state=1)
    axes[0, col].set_title(f"n_steps={n_steps}", fontsize=8)
    for row in range(8):
        axes[row, col].imshow(images[row].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        axes[row, col].set_axis_off()
fig.suptitle("Gibbs steps in the top RBM before the down-pass")
plt.show()

# %%
# Fine-tuning with labels
# -----------------------
# :class:`~skebm.DBNClassifier` pretrains the same stack, adds a softmax
# layer and fine-tunes everything by backpropagation. With only 10% of the
# labels (pretraining still sees every training image through
# ``X_unlabeled``), compare it with the same network started from random
# weights (``pretrain=False``).
X_lab, X_unlab, y_lab, _ = train_test_split(
    X_train, y_train, train_size=0.1, stratify=y_train, random_state=0
)
params = dict(
    hidden_layer_sizes=(100, 50),
    pretrain_learning_rate=0.05,
    pretrain_n_iter=50,
    batch_size=100,
    max_iter=200,
    random_state=0,
)
pretrained = DBNClassifier(**params).fit(X_lab, y_lab, X_unlabeled=X_unlab)
random_init = DBNClassifier(pretrain=False, **params).fit(X_lab, y_lab)
for name, clf in (("pretrained", pretrained), ("pretrain=False", random_init)):
    print(f"{name:>15s}: test accuracy {clf.score(X_test, y_test):.3f}")

fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
ax.plot(pretrained.loss_curve_, label="pretrained")
ax.plot(random_init.loss_curve_, label="pretrain=False")
ax.set(xlabel="fine-tuning epoch", ylabel="training loss", yscale="log")
ax.set_title(f"loss_curve_ on {len(y_lab)} labelled digits")
ax.legend()
plt.show()
