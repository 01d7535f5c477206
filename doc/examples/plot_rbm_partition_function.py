"""
=================================================
Exact and AIS estimates of the partition function
=================================================

``score_samples`` of an RBM is ``-free_energy(X) - log Z``, so it is exactly
as accurate as ``log Z``. skebm enumerates ``log Z`` exactly when the
smaller layer of the model has at most 20 units and estimates it by
annealed importance sampling (AIS) otherwise. An RBM with 20 hidden units
is at the edge: ``log_partition="auto"`` uses AIS for it (enumerating
``2**20`` states is no longer cheap), yet
:func:`skebm.partition.exact_log_partition` can still enumerate it in a
moment. So we can compare AIS estimates
(:func:`skebm.partition.ais_log_partition`) with the truth, for more and
more temperatures and for two starting distributions.

See :ref:`partition_function` for the method.
"""

# %%
# A small RBM on binarised digits
# -------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skebm import BernoulliRBM
from skebm.partition import ais_log_partition, exact_log_partition

X = (load_digits().data >= 8).astype(np.float64)
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
rbm = BernoulliRBM(
    n_components=20, learning_rate=0.05, k=5, n_iter=30, random_state=0
).fit(X_train)
exact = exact_log_partition(rbm)
print(
    f"log_partition_ by {rbm.log_partition_method_}: {rbm.log_partition_:.3f} "
    f"(standard error {rbm.log_partition_stderr_:.3f})"
)
print(f"exact log Z: {exact:.3f}")
print(f"held-out log-likelihood: {rbm.score(X_test):.3f} nats per image")

# %%
# AIS with more and more temperatures
# -----------------------------------
# Each AIS run anneals from a simple model with independent pixels to the
# RBM through ``n_temperatures`` intermediate distributions. The estimators
# start from the training data's per-pixel means (passing ``X`` to
# ``ais_log_partition`` does the same); without ``X`` the start is the
# uniform distribution, much further from the RBM. Four seeds per setting.
n_temperatures = [10, 30, 100, 300, 1000, 3000]
seeds = range(4)
starts = {"data base rates (X given)": X_train, "uniform (X=None)": None}

fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
for color, (label, base) in zip(("C0", "C1"), starts.items()):
    errors = np.array(
        [
            [
                ais_log_partition(rbm, base, n_temperatures=t, random_state=s)[0]
                - exact
                for s in seeds
            ]
            for t in n_temperatures
        ]
    )
    for i, t in enumerate(n_temperatures):
        ax.scatter(np.full(len(seeds), t), errors[i], color=color, alpha=0.5, s=15)
    ax.plot(n_temperatures, errors.mean(axis=1), color=color, marker="o", label=label)
ax.axhline(0, color="k", lw=1)
ax.set(
    xscale="log",
    xlabel="n_temperatures",
    ylabel="estimated log Z − exact log Z (nats)",
    title="AIS error: four seeds per setting, and their mean",
)
ax.legend(title="AIS starts from")
plt.show()

# %%
# With too few temperatures the estimate of ``log Z`` is too *low*: AIS
# estimates ``Z`` without bias, so its logarithm is biased down, and every
# ``score_samples`` value would be too *high* by the same amount. Starting
# from the data's base rates removes most of the error; at the default of
# 1000 temperatures it is a small fraction of a nat here, of the order of
# the reported ``log_partition_stderr_``.
#
# When the model is small enough, asking for the exact value is simplest:
exact_rbm = BernoulliRBM(
    n_components=20,
    learning_rate=0.05,
    k=5,
    n_iter=30,
    random_state=0,
    log_partition="exact",
).fit(X_train)
print(
    f"log_partition='exact': {exact_rbm.log_partition_:.3f}, "
    f"method {exact_rbm.log_partition_method_!r}, "
    f"stderr {exact_rbm.log_partition_stderr_}"
)
