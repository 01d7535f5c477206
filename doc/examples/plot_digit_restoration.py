"""
============================================================
Filling in and cleaning up digits: every method side by side
============================================================

Binarised 8×8 digits with a 4×4 patch missing are completed by
:class:`skebm.EnergyImputer` and by scikit-learn's imputers, all fitted on
the same incomplete training digits; digits with 10% of their pixels
flipped are cleaned by :meth:`skebm.BernoulliRBM.reconstruct` (with and
without the flip-noise model), by Hopfield recall and by a 3×3 median
filter. See :ref:`restoration` for the methods and the benchmark table.
"""

# %%
# Digits with holes
# -----------------
# Every training and test digit loses one random 4×4 patch (NaN).
import matplotlib.pyplot as plt
import numpy as np
from scipy.ndimage import median_filter
from sklearn.datasets import load_digits
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.model_selection import train_test_split

from skebm import BernoulliRBM, EnergyImputer, HopfieldNetwork

data = load_digits()
X = (data.data / 16.0 > 0.5).astype(np.float64)
X_train, X_test, y_train, _ = train_test_split(
    X, data.target, test_size=0.3, random_state=0
)
rng = np.random.RandomState(0)


def patch_mask(n):
    mask = np.zeros((n, 8, 8), dtype=bool)
    for i, (r, c) in enumerate(rng.randint(0, 5, size=(n, 2))):
        mask[i, r : r + 4, c : c + 4] = True
    return mask.reshape(n, 64)


train_mask, test_mask = patch_mask(len(X_train)), patch_mask(len(X_test))
train_holes = np.where(train_mask, np.nan, X_train)
test_holes = np.where(test_mask, np.nan, X_test)

imputers = {
    "SimpleImputer": SimpleImputer(strategy="most_frequent"),
    "KNNImputer": KNNImputer(n_neighbors=5),
    "IterativeImputer": IterativeImputer(random_state=0),
    "EnergyImputer": EnergyImputer(random_state=0),
}
filled = {}
for name, imputer in imputers.items():
    filled[name] = imputer.fit(train_holes).transform(test_holes)
    wrong = (filled[name] > 0.5) != X_test
    print(f"{name:17s} pixel error in the patch {wrong[test_mask].mean():.3f}")

# %%
# Noisy digits
# ------------
# An RBM trained on the clean training digits; the ten binarised class
# means stored in a Hopfield network (the pseudoinverse rule).
noisy = np.abs(X_test - (rng.rand(*X_test.shape) < 0.10))
rbm = BernoulliRBM(n_components=100, learning_rate=0.05, n_iter=30, random_state=0)
rbm.fit(X_train)
prototypes = np.array([X_train[y_train == k].mean(axis=0) > 0.5 for k in range(10)])
hopfield = HopfieldNetwork("pseudoinverse", random_state=0).fit(prototypes * 1.0)
cleaned = {
    "reconstruct": rbm.reconstruct(noisy),
    "reconstruct\n(noise=0.1)": rbm.reconstruct(noisy, n_steps=5, noise=0.1),
    "Hopfield recall": hopfield.recall(noisy),
    "median filter": median_filter(
        noisy.reshape(-1, 8, 8), size=(1, 3, 3), mode="nearest"
    ).reshape(noisy.shape),
}
print(f"{'noisy input':25s} pixel error {((noisy > 0.5) != X_test).mean():.3f}")
for name, images in cleaned.items():
    error = ((images > 0.5) != X_test).mean()
    print(f"{name.replace(chr(10), ' '):25s} pixel error {error:.3f}")

# %%
# Side by side
# ------------
# Grey levels are probabilities (the RBM's conditional means, KNN's
# averages); the missing patch is drawn mid-grey in the input row.
rows = [("original", X_test), ("patch missing", np.where(test_mask, 0.5, X_test))]
rows += list(filled.items())
rows += [("10% flipped", noisy)] + list(cleaned.items())
n_show = 10
fig, axes = plt.subplots(len(rows), n_show, figsize=(8, 11), layout="constrained")
for row, (label, images) in zip(axes, rows):
    for k, ax in enumerate(row):
        ax.imshow(np.clip(images[k], 0, 1).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_ylabel(label, rotation=0, ha="right", va="center")
fig.suptitle("Imputation (rows 3-6) and denoising (rows 8-11) of held-out digits")
plt.show()
