"""
================================================
Denoising and inpainting digits with an RBM
================================================

A :class:`skebm.BernoulliRBM` trained on clean binarised digits restores
corrupted ones with :meth:`~skebm.BernoulliRBM.reconstruct`, the mean-field
pass ``v -> p(h | v) -> E[v | h]``:

- *denoising*: 10% of the pixels flipped; one pass over every pixel;
- *inpainting*: a 4×4 patch missing; the other pixels are held at their
  values (``clamp``) and only the patch is filled in, over several passes.

See :ref:`rbm` for the method.
"""

# %%
# Train on clean digits
# ---------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skebm import BernoulliRBM

X, _ = load_digits(return_X_y=True)
X = (X / 16.0 > 0.5).astype(np.float64)
X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
rbm = BernoulliRBM(n_components=100, n_iter=50, learning_rate=0.05, random_state=0)
rbm.fit(X_train)

# %%
# Corrupt the test digits
# -----------------------
rng = np.random.RandomState(0)
noisy = np.abs(X_test - (rng.rand(*X_test.shape) < 0.10))
denoised = rbm.reconstruct(noisy)

patch = np.zeros((len(X_test), 8, 8), bool)
for r, (i, j) in enumerate(rng.randint(0, 5, size=(len(X_test), 2))):
    patch[r, i : i + 4, j : j + 4] = True
patch = patch.reshape(len(X_test), 64)
holed = np.where(patch, 0.5, X_test)  # the patch starts grey
inpainted = rbm.reconstruct(holed, n_steps=10, clamp=~patch)


def pixel_error(restored, mask=None):
    wrong = (restored > 0.5) != X_test
    return wrong.mean() if mask is None else wrong[mask].mean()


print(f"denoising: pixel error {pixel_error(noisy):.3f} noisy, "
      f"{pixel_error(denoised):.3f} after reconstruct")  # fmt: skip
print(f"inpainting: error in the patch {pixel_error(holed, patch):.3f} "
      f"(grey), {pixel_error(inpainted, patch):.3f} after reconstruct")  # fmt: skip

# %%
# Corrupted and restored, side by side
# ------------------------------------
# Rows: the original, the corrupted input, and the restoration (grey levels
# are the reconstruction's probabilities).
rows = [
    ("original", X_test),
    ("10% flipped", noisy),
    ("denoised", denoised),
    ("4×4 patch missing", holed),
    ("inpainted", inpainted),
]
n_show = 8
fig, axes = plt.subplots(len(rows), n_show, figsize=(8, 5.6), layout="constrained")
for row, (label, images) in zip(axes, rows):
    for k, ax in enumerate(row):
        ax.imshow(images[k].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_ylabel(label, rotation=0, ha="right", va="center")
fig.suptitle("BernoulliRBM.reconstruct on held-out digits")
plt.show()
