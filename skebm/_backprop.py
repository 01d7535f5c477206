"""Supervised fine-tuning maths of ``DBNClassifier`` (private): the forward
pass of a sigmoid network with a softmax output, the cross-entropy loss with
its gradients, the Adam / momentum-SGD optimiser, and Glorot's
initialisation. Vectorised NumPy over each minibatch (a handful of matrix
products, as in scikit-learn's ``MLPClassifier``): no loop over samples.
"""

import numpy as np
from scipy.special import expit
from sklearn.utils.extmath import safe_sparse_dot

_ADAM_BETA_1, _ADAM_BETA_2, _ADAM_EPSILON = 0.9, 0.999, 1e-8


def _forward(X, coefs, intercepts):
    """Activations of every layer: ``[X, h_1, ..., h_L, p]``.

    Hidden layers are sigmoid units, ``h_l = sigmoid(h_{l-1} @ coefs[l-1] +
    intercepts[l-1])``; the output layer is a softmax over the classes.
    """
    activations = [X]
    for W, b in zip(coefs[:-1], intercepts[:-1]):
        pre = safe_sparse_dot(activations[-1], W, dense_output=True) + b
        activations.append(expit(pre, out=pre))
    z = safe_sparse_dot(activations[-1], coefs[-1], dense_output=True)
    z += intercepts[-1]
    z -= z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    activations.append(log_p)
    return activations


def _loss_and_gradients(X, Y, coefs, intercepts, alpha):
    """Mean cross-entropy plus L2 penalty, and its gradients (backprop).

    ``loss = -mean_n sum_k Y[n, k] log p[n, k] + alpha / (2 n) * sum_l
    ||coefs[l]||²`` (the penalty scaled by the minibatch size ``n``, as in
    scikit-learn's ``MLPClassifier``). Returns ``(loss, coef_grads,
    intercept_grads)``.
    """
    n = X.shape[0]
    activations = _forward(X, coefs, intercepts)
    log_p = activations[-1]
    penalty = sum(float(np.vdot(W, W)) for W in coefs)
    loss = -float(np.vdot(Y, log_p)) / n + 0.5 * alpha * penalty / n
    delta = (np.exp(log_p) - Y) / n  # d loss / d output pre-activation
    coef_grads, intercept_grads = [None] * len(coefs), [None] * len(coefs)
    for layer in range(len(coefs) - 1, -1, -1):
        below = activations[layer]
        grad = safe_sparse_dot(below.T, delta, dense_output=True)
        coef_grads[layer] = np.asarray(grad) + (alpha / n) * coefs[layer]
        intercept_grads[layer] = delta.sum(axis=0)
        if layer > 0:
            delta = (delta @ coefs[layer].T) * below * (1.0 - below)
    return loss, coef_grads, intercept_grads


class _Optimizer:
    """Minibatch SGD with (classical) momentum, or Adam (scikit-learn's
    ``MLPClassifier`` update rules). Updates ``params`` in place.

    ``betas``: Adam's decay rates; ``state``: ``(t, first, second)`` to
    continue from (``first``/``second`` updated in place, so they may be
    views into the caller's arrays; ``t`` is read back from ``self.t``).
    ``step(grads, learning_rate)`` may change the learning rate per step.
    """

    def __init__(self, params, solver, learning_rate, momentum, *,
                 betas=(_ADAM_BETA_1, _ADAM_BETA_2), state=None):  # fmt: skip
        self.params = params
        self.solver = solver
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.betas = betas
        if state is not None:
            self.t, self.first, self.second = state
            return
        self.t = 0
        self.first = [np.zeros_like(p) for p in params]
        self.second = [np.zeros_like(p) for p in params] if solver == "adam" else []

    def step(self, grads, learning_rate=None):
        self.t += 1
        lr = self.learning_rate if learning_rate is None else learning_rate
        if self.solver == "sgd":
            for p, v, g in zip(self.params, self.first, grads):
                v *= self.momentum
                v -= lr * g
                p += v
            return
        b1, b2 = self.betas
        lr = lr * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        for p, m, s, g in zip(self.params, self.first, self.second, grads):
            m *= b1
            m += (1 - b1) * g
            s *= b2
            s += (1 - b2) * g * g
            p -= lr * m / (np.sqrt(s) + _ADAM_EPSILON)


def _glorot(rng, n_in, n_out):
    """scikit-learn's initialisation for logistic layers."""
    bound = np.sqrt(2.0 / (n_in + n_out))
    return rng.uniform(-bound, bound, (n_in, n_out)), rng.uniform(-bound, bound, n_out)
