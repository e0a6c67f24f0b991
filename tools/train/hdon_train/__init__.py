"""hdon_train: the reference trainer for hdon (JAX + optax on CPU).

Data sets of the HyperDeepONet paper (data), the six families in the paper's parameter layout
(arch, models), a training loop (train), and writers for what `hdon export` reads (checkpoint).
"""

__version__ = "0.1.0"
