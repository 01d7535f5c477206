"""
=====================================================================
Unusual combinations in a mixed table: CategoricalRBM as a detector
=====================================================================

A synthetic table of customers has two numeric columns (age, income) and
two categorical ones (occupation, phone plan). The rows come from three
hidden groups (students, working adults, retirees), so the columns depend
on each other: a retiree is old, earns a middle income and rarely has a
prepaid plan. The anomalies are made by shuffling each column of fresh
rows independently: every value in them is as common as in the normal rows
(the marginal frequencies are unchanged), only the *combinations* are
broken, such as a 25-year-old retiree.

The numeric columns are cut into bins of equal width
(:class:`~sklearn.preprocessing.KBinsDiscretizer` with
``encode="ordinal"``) and the string columns coded by
:class:`~sklearn.preprocessing.OrdinalEncoder`, together in a
:class:`~sklearn.compose.ColumnTransformer`; :class:`skebm.CategoricalRBM`
learns the joint distribution of the four codes and
:class:`skebm.EnergyOutlierDetector` flags the rows it finds unlikely. It
is compared with :class:`~sklearn.ensemble.IsolationForest` by ROC AUC,
and its learned joint distribution of two features is drawn next to the
data's. See :ref:`categorical_rbm`.
"""

# %%
# A mixed table with dependent columns
# ------------------------------------
import itertools

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, OrdinalEncoder

from skebm import CategoricalRBM, EnergyOutlierDetector

# the three groups: students, working adults, retirees
WEIGHTS = np.array([0.4, 0.35, 0.25])
AGE_MEAN, AGE_SD = np.array([25.0, 45.0, 68.0]), 5.0
INCOME_MEAN, INCOME_SD = np.array([25.0, 70.0, 40.0]), 8.0  # thousands
OCCUPATIONS = np.array(["student", "engineer", "teacher", "nurse", "retired"])
P_OCCUPATION = np.array(
    [
        [0.6, 0.1, 0.1, 0.2, 0.0],
        [0.0, 0.45, 0.3, 0.25, 0.0],
        [0.0, 0.05, 0.1, 0.05, 0.8],
    ]
)
PLANS = np.array(["prepaid", "monthly", "annual"])
P_PLAN = np.array([[0.7, 0.25, 0.05], [0.1, 0.4, 0.5], [0.2, 0.6, 0.2]])


def make_table(n_samples, seed):
    """Rows (age, income, occupation, plan) as a NumPy object array."""
    rng = np.random.RandomState(seed)
    group = rng.choice(3, size=n_samples, p=WEIGHTS)
    age = AGE_MEAN[group] + AGE_SD * rng.normal(size=n_samples)
    income = INCOME_MEAN[group] + INCOME_SD * rng.normal(size=n_samples)
    u = rng.uniform(size=(n_samples, 1))
    occupation = OCCUPATIONS[(u > P_OCCUPATION[group].cumsum(axis=1)).sum(axis=1)]
    u = rng.uniform(size=(n_samples, 1))
    plan = PLANS[(u > P_PLAN[group].cumsum(axis=1)).sum(axis=1)]
    table = np.empty((n_samples, 4), dtype=object)
    table[:, 0], table[:, 1] = age.round(), income.round(1)
    table[:, 2], table[:, 3] = occupation, plan
    return table


def shuffle_columns(table, seed):
    """Each column permuted on its own: same values, broken combinations."""
    rng = np.random.RandomState(seed)
    out = table.copy()
    for j in range(table.shape[1]):
        out[:, j] = table[rng.permutation(len(table)), j]
    return out


X_train = make_table(2000, seed=0)
X_normal = make_table(500, seed=1)
X_odd = shuffle_columns(make_table(500, seed=2), seed=3)
X_test = np.vstack([X_normal, X_odd])
is_odd = np.r_[np.zeros(len(X_normal)), np.ones(len(X_odd))]
print("normal rows:\n", X_normal[:4])
print("shuffled rows:\n", X_odd[:4])

# %%
# Category codes
# --------------
# Six bins of equal width for age and for income (``strategy="quantile"``
# would make them about equally full instead); the occupation and plan
# codes follow the alphabetical order of the strings.
encoder = ColumnTransformer(
    [
        (
            "bins",
            KBinsDiscretizer(n_bins=6, encode="ordinal", strategy="uniform"),
            [0, 1],
        ),
        ("categories", OrdinalEncoder(), [2, 3]),
    ]
)

# %%
# Detectors
# ---------
# The detector is a pipeline: codes, then :class:`~skebm.EnergyOutlierDetector`
# around a :class:`~skebm.CategoricalRBM` with 16 hidden units (few enough
# for an exact :math:`\log Z`), trained by CD-5 restarted from the data
# (``k=5, persistent=False``), which fitted this table better than the
# default persistent chains (by the log-likelihood of another sample of
# normal rows). IsolationForest gets the same codes, their one-hot
# encoding, or the raw numbers with one-hot categories. Two references need
# no training: the log-probability of a row under *independent* features at
# their training frequencies (blind to combinations, so the shuffled rows
# look as normal as the others), and the true log-density of the normal
# rows, from the generating model itself. Ranking by the latter is not the
# best possible ranking either (that would also weigh in the density of the
# shuffled rows), so a learned model can come close to it, or pass it.
rbm_detector = make_pipeline(
    encoder,
    EnergyOutlierDetector(
        CategoricalRBM(
            n_components=16,
            n_iter=50,
            learning_rate=0.05,
            k=5,
            persistent=False,
            random_state=0,
        )
    ),
).fit(X_train)

forests = {
    "IsolationForest, codes": make_pipeline(
        clone(encoder), IsolationForest(random_state=0)
    ),
    "IsolationForest, one-hot codes": make_pipeline(
        clone(encoder), OneHotEncoder(), IsolationForest(random_state=0)
    ),
    "IsolationForest, numbers + one-hot": make_pipeline(
        ColumnTransformer(
            [("numbers", "passthrough", [0, 1]), ("one-hot", OneHotEncoder(), [2, 3])]
        ),
        IsolationForest(random_state=0),
    ),
}
for forest in forests.values():
    forest.fit(X_train)

codes_train = rbm_detector[0].transform(X_train)
codes_test = rbm_detector[0].transform(X_test)
rbm = rbm_detector[-1].estimator_
frequencies = [
    np.bincount(codes_train[:, f].astype(int), minlength=k) / len(codes_train)
    for f, k in enumerate(rbm.n_categories_)
]


def independent_log_p(codes):
    return sum(np.log(p[codes[:, f].astype(int)]) for f, p in enumerate(frequencies))


def true_log_density(table):
    """log p(row) under the generating mixture of the three groups."""
    age, income = table[:, 0].astype(float), table[:, 1].astype(float)
    occupation = np.argmax(table[:, [2]] == OCCUPATIONS, axis=1)
    plan = np.argmax(table[:, [3]] == PLANS, axis=1)
    with np.errstate(divide="ignore"):
        per_group = (
            np.log(WEIGHTS)
            + norm.logpdf(age[:, None], AGE_MEAN, AGE_SD)
            + norm.logpdf(income[:, None], INCOME_MEAN, INCOME_SD)
            + np.log(P_OCCUPATION[:, occupation].T)
            + np.log(P_PLAN[:, plan].T)
        )
    return logsumexp(per_group, axis=1)


# %%
# ROC AUC: shuffled rows against held-out normal rows
# ---------------------------------------------------
# Every detector scores higher for more normal rows; the AUC is the chance
# that a random shuffled row scores below a random normal one.
scores = {"CategoricalRBM detector": rbm_detector.score_samples(X_test)}
scores.update({name: forest.score_samples(X_test) for name, forest in forests.items()})
scores["independent features (reference)"] = independent_log_p(codes_test)
scores["true density (reference)"] = true_log_density(X_test)
for name, score in scores.items():
    print(f"{name:<36} ROC AUC {roc_auc_score(is_odd, -score):.3f}")

# %%
# What the model learned: age against occupation
# ----------------------------------------------
# With exact :math:`\log Z`, ``score_samples`` is a normalised
# log-probability over all :math:`6 \times 6 \times 5 \times 3 = 540`
# possible rows of codes: summing the probabilities of every row gives 1,
# and summing over income and plan gives the model's joint distribution of
# the age bin and the occupation. Next to it: the training frequencies, and
# what independent features would predict.
all_rows = np.array(list(itertools.product(*map(range, rbm.n_categories_))), float)
p_rows = np.exp(rbm.score_samples(all_rows))
print(f"log Z method: {rbm.log_partition_method_}")
print(f"total probability of the {len(all_rows)} possible rows: {p_rows.sum():.6f}")
model_joint = p_rows.reshape(rbm.n_categories_).sum(axis=(1, 3))
data_joint = np.zeros_like(model_joint)
np.add.at(data_joint, (codes_train[:, 0].astype(int), codes_train[:, 2].astype(int)), 1)
data_joint /= len(codes_train)
independent_joint = np.outer(frequencies[0], frequencies[2])
gap = np.abs(model_joint - data_joint).sum() / 2
print(f"total variation, model vs training frequencies: {gap:.3f}")
gap = np.abs(independent_joint - data_joint).sum() / 2
print(f"total variation, independent vs training frequencies: {gap:.3f}")

edges = rbm_detector[0].named_transformers_["bins"].bin_edges_[0]
age_labels = [f"{lo:.0f}-{hi:.0f}" for lo, hi in zip(edges[:-1], edges[1:])]
occupation_labels = rbm_detector[0].named_transformers_["categories"].categories_[0]
fig, axes = plt.subplots(1, 3, figsize=(12, 4), layout="constrained", sharey=True)
panels = (
    ("training frequencies", data_joint),
    ("CategoricalRBM", model_joint),
    ("independent features", independent_joint),
)
vmax = max(table.max() for _, table in panels)
for ax, (title, table) in zip(axes, panels):
    image = ax.imshow(table, cmap="viridis", vmin=0, vmax=vmax)
    ax.set_xticks(range(len(occupation_labels)), occupation_labels, rotation=45)
    ax.set_yticks(range(len(age_labels)), age_labels)
    ax.set_title(title)
    ax.set_xlabel("occupation")
axes[0].set_ylabel("age bin (years)")
fig.colorbar(image, ax=axes, shrink=0.8)
fig.suptitle("Probability of each (age bin, occupation) pair")

# %%
# Score distributions
# -------------------
# The detector's ``offset_`` is the ``contamination`` (10%) quantile of the
# training scores; rows below it are called outliers.
rbm_scores = scores["CategoricalRBM detector"]
offset = rbm_detector[-1].offset_
print(f"held-out normal rows flagged: {np.mean(rbm_scores[is_odd == 0] < offset):.0%}")
print(f"shuffled rows flagged: {np.mean(rbm_scores[is_odd == 1] < offset):.0%}")
fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
bins = np.linspace(rbm_scores.min(), rbm_scores.max(), 40)
ax.hist(rbm_scores[is_odd == 0], bins=bins, alpha=0.6, label="normal rows (held out)")
ax.hist(rbm_scores[is_odd == 1], bins=bins, alpha=0.6, label="shuffled rows")
ax.axvline(offset, color="k", linestyle="--", label="offset_")
ax.set_xlabel("score_samples: log-probability of the row's codes (nats)")
ax.set_ylabel("rows")
ax.legend()

# %%
# Filling in a missing occupation
# -------------------------------
# The same model imputes: the occupation of the held-out normal rows is
# hidden (started at the most frequent one), the other features are clamped,
# and :meth:`~skebm.CategoricalRBM.reconstruct` returns the most probable
# occupation after mean-field passes;
# :meth:`~skebm.CategoricalRBM.sample_conditional` draws one instead
# (multiple imputation).
codes_normal = codes_test[is_odd == 0]
start = codes_normal.copy()
start[:, 2] = np.argmax(frequencies[2])
clamp = np.ones(start.shape, bool)
clamp[:, 2] = False
fills = {"most frequent occupation": start}
for n_steps in (1, 5):
    fills[f"reconstruct, {n_steps} pass(es)"] = rbm.reconstruct(
        start, n_steps=n_steps, clamp=clamp
    )
fills["sample_conditional, one draw"] = rbm.sample_conditional(
    start, clamp, random_state=0
)
for name, filled in fills.items():
    correct = np.mean(filled[:, 2] == codes_normal[:, 2])
    print(f"{name:<30} {correct:.2f} correct")
plt.show()
