"""edsim: event-driven simulation of spiking neural networks with certified lookup tables.

Names follow PyNN: models (``IF_cond_exp``), connectors (``FixedProbability``...), sources
(``Poisson`` = ``SpikeSourcePoisson``, ``SpikeTimes`` = ``SpikeSourceArray``), units ms, mV, nA,
µS, nF, Hz.
"""

__version__ = "0.1.0"

from edsim.connectors import (  # noqa: E402
    AllToAll,
    FixedInDegree,
    FixedProbability,
    FromList,
    OneToOne,
)
from edsim.errors import (  # noqa: E402
    CausalityError,
    ConnectionError_,
    CoreError,
    EdsimError,
    FileFormatError,
    ParameterError,
    StateError,
    TableError,
)
from edsim.models import IF_cond_exp, IF_curr_delta, IF_curr_exp  # noqa: E402
from edsim.equations import EquationModel  # noqa: E402
from edsim.nmda import IF_cond_exp_nmda  # noqa: E402
from edsim.clockmodels import (  # noqa: E402
    EIF_cond_exp_isfa_ista,
    FitzHughNagumo,
    HH_cond_exp,
    HindmarshRose,
    Izhikevich,
)
from edsim.network import (  # noqa: E402
    Network,
    Poisson,
    Population,
    PopulationView,
    Projection,
    SpikeSourceArray,
    SpikeSourcePoisson,
    SpikeTimes,
)
from edsim.recording import Recorder, Recording, SpikeTrains, load  # noqa: E402
from edsim.realtime import LoopSummary, RealTimeRunner, SlotSpikes  # noqa: E402
from edsim.tables import TableSpec  # noqa: E402

__all__ = [
    "AllToAll", "FixedInDegree", "FixedProbability", "FromList", "OneToOne",
    "CausalityError", "ConnectionError_", "CoreError", "EdsimError", "FileFormatError", "ParameterError",
    "StateError", "TableError", "IF_cond_exp", "IF_curr_exp", "IF_curr_delta", "Network", "Poisson", "Population",
    "PopulationView", "Projection", "SpikeSourceArray", "SpikeSourcePoisson", "SpikeTimes",
    "Recorder", "Recording", "SpikeTrains", "load", "TableSpec",
    "RealTimeRunner", "LoopSummary", "SlotSpikes",
    "EquationModel", "IF_cond_exp_nmda",
    "HH_cond_exp", "Izhikevich", "EIF_cond_exp_isfa_ista", "FitzHughNagumo", "HindmarshRose",
]
