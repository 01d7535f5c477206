"""
======================================================
Anomaly scores of a Gaussian RBM on an unseen digit
======================================================

:class:`skebm.EnergyOutlierDetector` with its default model on data with
three features or more (a :class:`~sklearn.preprocessing.StandardScaler`
and a :class:`skebm.GaussianBernoulliRBM` with learned variances, trained
for about 3000 minibatch updates) learns the density of images of the digits
1-9, scores new images by their log-density and flags the least likely
ones. Images of the digit 0, never
seen in training, should score lower than held-out images of the other
digits. We plot both score distributions, the detector's threshold
``offset_``, and the ROC curve against scikit-learn's IsolationForest.
On two features the default model is :class:`skebm.EnergyDensity`: the
last section draws its decision boundary around two moons.

See :ref:`gaussian_rbm` for the model and the detector.
"""

# %%
# Train on nine digits
# --------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skebm import EnergyOutlierDetector

X, y = load_digits(return_X_y=True)
normal, unseen = X[y != 0], X[y == 0]
X_train, X_normal_test = train_test_split(normal, test_size=1 / 3, random_state=0)

detector = EnergyOutlierDetector(contamination=0.05, random_state=0).fit(X_train)
forest = make_pipeline(StandardScaler(), IsolationForest(random_state=0)).fit(X_train)

# %%
# Score distributions
# -------------------
# ``score_samples`` is the log-density in nats (of the standardised image);
# the detector calls everything below ``offset_`` an outlier, which is 5% of
# the training images by construction. Most zeros score below most other
# digits, but that 5% tail of the training images is set by a few images
# with ink where nearly every training image is blank (scores of -1000 nats
# and below, off the left of the plot), so few zeros fall under the
# threshold: the ranking (next section) separates them better than the
# threshold does.
scores_normal = detector.score_samples(X_normal_test)
scores_unseen = detector.score_samples(unseen)
offset = detector.offset_
flagged = np.mean(detector.predict(unseen) == -1)
print(f"unseen zeros flagged as outliers: {flagged:.0%}")
print(
    "held-out other digits flagged: "
    f"{np.mean(detector.predict(X_normal_test) == -1):.0%}"
)

X_test = np.vstack([X_normal_test, unseen])
is_unseen = np.r_[np.zeros(len(X_normal_test)), np.ones(len(unseen))]

fig, ax_hist = plt.subplots(figsize=(6.5, 4), layout="constrained")
all_scores = np.r_[scores_normal, scores_unseen]
bins = np.linspace(np.percentile(all_scores, 3), all_scores.max(), 50)
ax_hist.hist(scores_normal, bins=bins, alpha=0.6, label="digits 1-9 (held out)")
ax_hist.hist(scores_unseen, bins=bins, alpha=0.6, label="digit 0 (never seen)")
ax_hist.axvline(offset, color="k", linestyle="--", label="offset_ (5% of train)")
ax_hist.set_xlabel("score_samples: log-density (nats)")
ax_hist.set_ylabel("images")
ax_hist.legend()
ax_hist.set_title("GaussianBernoulliRBM scores")

# %%
# ROC curves
# ----------
# Ranking quality, whatever the threshold: the fraction of zeros flagged
# against the fraction of other digits flagged, for every threshold.
fig, ax_roc = plt.subplots(figsize=(5, 4.5), layout="constrained")
for name, model in (("EnergyOutlierDetector", detector), ("IsolationForest", forest)):
    scores = -model.score_samples(X_test)
    fpr, tpr, _ = roc_curve(is_unseen, scores)
    auc = roc_auc_score(is_unseen, scores)
    ax_roc.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
ax_roc.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
ax_roc.set_xlabel("false positive rate (other digits flagged)")
ax_roc.set_ylabel("true positive rate (zeros flagged)")
ax_roc.legend(loc="lower right")
ax_roc.set_title("Flagging the unseen digit")

# %%
# On two features
# ---------------
# With one or two features the default model is
# :class:`skebm.EnergyDensity`, which learns a correction to a BIC-chosen
# Gaussian mixture (:ref:`energy_density`). Two moons, as in
# ``benchmarks/bench_anomaly.py``: 200 training points, then 100 held-out
# points and 45 uniform outliers. The shading is ``decision_function``; the
# black line, where it is 0, encloses all but 10% of the training points
# (``contamination=0.1``).
from sklearn.datasets import make_moons

moons = 4.0 * (make_moons(300, noise=0.05, random_state=0)[0] - [0.5, 0.25])
outliers = np.random.RandomState(42).uniform(-6, 6, size=(45, 2))
moon_detector = EnergyOutlierDetector(random_state=0).fit(moons[:200])
moon_forest = make_pipeline(StandardScaler(), IsolationForest(random_state=0))
moon_forest.fit(moons[:200])
moon_test = np.vstack([moons[200:], outliers])
moon_truth = np.r_[np.zeros(100), np.ones(45)]

grid = np.linspace(-6, 6, 200)
xx, yy = np.meshgrid(grid, grid)
cells = np.c_[xx.ravel(), yy.ravel()]
fig, axes = plt.subplots(1, 2, figsize=(9, 4.5), layout="constrained")
for ax, (name, model) in zip(
    axes, (("EnergyOutlierDetector()", moon_detector), ("IsolationForest", moon_forest))
):
    levels = model.decision_function(cells).reshape(xx.shape)
    auc = roc_auc_score(moon_truth, -model.decision_function(moon_test))
    ax.contourf(xx, yy, np.clip(levels, -10, None), levels=20, cmap="Blues_r")
    ax.contour(xx, yy, levels, levels=[0.0], colors="k")
    ax.scatter(*moons[200:].T, s=8, c="white", edgecolors="k", linewidths=0.4)
    ax.scatter(*outliers.T, s=14, c="tab:red", marker="x")
    ax.set_title(f"{name}: ROC AUC {auc:.3f}")
    ax.set_aspect("equal")
plt.show()
