"""skebm: scikit-learn compatible energy-based models on Numba kernels.

Public estimators are imported lazily (PEP 562), so ``import skebm`` loads
neither scikit-learn nor numba and compiles nothing.
"""

import importlib

__version__ = "0.1.0.dev0"

_LAZY = {
    "BernoulliRBM": "skebm._rbm",
    "BoltzmannMachine": "skebm._boltzmann",
    "CategoricalRBM": "skebm._categorical_rbm",
    "DBNClassifier": "skebm._dbn_classifier",
    "DeepBeliefNetwork": "skebm._dbn",
    "DeepBoltzmannMachine": "skebm._deep_boltzmann",
    "GaussianBernoulliRBM": "skebm._rbm",
    "EnergyDensity": "skebm._energy_density",
    "EnergyImputer": "skebm._impute",
    "EnergyOutlierDetector": "skebm._anomaly",
    "HopfieldNetwork": "skebm._hopfield",
    "ModernHopfieldNetwork": "skebm._modern_hopfield",
    "partition": "skebm.partition",
    "sampling": "skebm.sampling",
}

__all__ = [
    "BernoulliRBM",
    "BoltzmannMachine",
    "CategoricalRBM",
    "DBNClassifier",
    "DeepBeliefNetwork",
    "DeepBoltzmannMachine",
    "EnergyDensity",
    "EnergyImputer",
    "EnergyOutlierDetector",
    "GaussianBernoulliRBM",
    "HopfieldNetwork",
    "ModernHopfieldNetwork",
    "partition",
    "sampling",
    "__version__",
]


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = module if module.__name__ == f"skebm.{name}" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'skebm' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
