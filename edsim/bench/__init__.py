"""Side-by-side benchmarks: the same network in edsim, NEST and Brian2 (``edsim bench``).

A network is built once by edsim (``networks.py``) and exported to a file that holds everything a
simulator needs to rebuild it exactly: neuron models and parameters, the initial state, every
synapse (pre, post, weight, delay, receptor) and the stimulus (Poisson rates and windows). Each
simulator then runs it in its own fresh interpreter (``run_edsim.py``, ``run_nest.py``,
``run_brian2.py``), so that peak memory is that run's alone and NEST's and Brian2's global state
never meet, and hands back one JSON row (``runner.py`` computes the figures every row shares).
``driver.py`` orders the runs and compares the spike statistics; ``report.py`` writes the JSON,
the markdown tables and the plots; ``stats.py`` holds the Kolmogorov-Smirnov distance and the
crossover interpolation.

Units: ms, mV, nA, µS, nF, Hz, as everywhere in edsim; seconds for wall and CPU times.
"""

from edsim.bench.stats import crossovers, ks_distance  # noqa: F401

#: Every simulator ``edsim bench --simulators`` knows, in the order the tables show them.
SIMULATORS = ("edsim", "edsim-clock", "nest", "brian2-runtime", "brian2-standalone")
