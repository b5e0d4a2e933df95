"""Shared pytest configuration.

Hypothesis runs derandomised by default, so the suite is reproducible: the same examples every
run, on every machine. Set HYPOTHESIS_PROFILE=explore to draw fresh random examples instead.
"""

import os

from hypothesis import settings

settings.register_profile("edsim", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "edsim"))


# ---- shared fixtures -------------------------------------------------------------------------
import pytest  # noqa: E402

# The COBA cell (Brette et al. 2007 benchmark 1), used across the suite.
COBA_CELL = dict(cm=0.2, tau_m=20.0, v_rest=-60.0, v_thresh=-50.0, v_reset=-60.0, tau_refrac=5.0,
                 tau_syn_E=5.0, tau_syn_I=10.0, e_rev_E=0.0, e_rev_I=-80.0)


@pytest.fixture(scope="session")
def coba_model():
    from edsim import IF_cond_exp

    return IF_cond_exp(**COBA_CELL)


@pytest.fixture(scope="session")
def coba_table(coba_model):
    """The cached (or generated on first use) default table of the COBA cell."""
    from edsim.tables import cond_table

    return cond_table(coba_model)


@pytest.fixture(scope="session")
def coba_lut(coba_table):
    from edsim._engine import CondLUT

    return CondLUT(coba_table.parameters, coba_table.axes(), coba_table.q, coba_table.reach,
                   coba_table.reach_margin)
