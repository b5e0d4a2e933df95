"""Changing a network between steps: neuron parameters and synaptic weights.

What :meth:`Population.set <edsim.network._Cells.set>`, :meth:`Projection.get_weights` and
:meth:`Projection.set_weights` do, validated here so that errors name the population, projection
and parameter; the core (csrc/control.c) brings neurons to now under the old values before a
change and applies weight changes to every later delivery.

Parameters are one value per population in edsim (the core keeps them per population, and a
table-driven model's table is built for one parameter set), so ``set`` takes scalars, or arrays
whose values are all equal, on a whole population.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edsim.errors import ParameterError

#: Parameters that do not enter a neuron's dynamics between events: changeable in any
#: event-driven population without touching its table.
RESET_PARAMETERS = frozenset({"v_reset", "tau_refrac"})


def _root(cells):
    from edsim.network import Population

    root = cells
    while not isinstance(root, Population):
        root = root.parent
    return root


def _one_value(cells, root, name: str, value) -> float:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} for '{cells.name}' must be a number in "
                             f"{root.model.units.get(name, 'its unit')} (got {value!r})") from None
    if arr.ndim == 0:
        return float(arr)
    if arr.shape != (cells.size,):
        raise ParameterError(f"{name} for '{cells.name}' must be a scalar or have length "
                             f"{cells.size} (got shape {arr.shape})")
    if arr.size and not np.all(arr == arr[0]):
        raise ParameterError(
            f"{name} of {root.model.name} is one value per population in edsim: got "
            f"{np.unique(arr).size} distinct values for '{cells.name}'; pass one value, or put "
            "the neurons that need another value in a population of their own")
    return float(arr[0])


def set_parameters(cells, values: dict) -> None:
    """Change parameters of the population ``cells`` is (or covers); see ``Population.set``."""
    if not cells._is_neuron():
        raise ParameterError(f"'{cells.name}' is a source; only neurons have parameters to set")
    root = _root(cells)
    model = root.model
    valid = [f.name for f in dataclasses.fields(model) if f.init]
    unknown = sorted(set(values) - set(valid))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown} for '{cells.name}' ({model.name}); "
                             f"valid names are: {', '.join(valid)}")
    if cells is not root and not (cells.size == root.size
                                  and np.array_equal(np.sort(cells.ids), root.ids)):
        raise ParameterError(
            f"parameters of {model.name} are one value per population in edsim: "
            f"'{cells.name}' covers {cells.size} of the {root.size} neurons of '{root.name}'; set "
            "them on the whole population, or put these neurons in a population of their own")
    new = {name: _one_value(cells, root, name, value) for name, value in values.items()}
    new_model = dataclasses.replace(model, **new)  # the model's own validation, with units
    changed = {name for name, value in new.items() if value != getattr(model, name)}
    if not changed:
        return
    sim = root.network._sim
    if root.dt is not None:
        sim.set_clock_params(root.first, new_model.clock_params())
    elif model.engine == "exact":
        sim.set_curr_params(root.first, new_model.parameters())
    elif changed <= RESET_PARAMETERS:
        sim.set_reset(root.first, new_model.v_reset, new_model.tau_refrac)
    elif model.engine == "table":
        sim.set_cond_lut(root.first, root.network._lut(new_model, getattr(root, "_table", None)))
    else:
        raise ParameterError(
            f"{', '.join(sorted(changed - RESET_PARAMETERS))} of {model.name} (population "
            f"'{root.name}') is built into its lookup table; between steps edsim changes only "
            f"{' and '.join(sorted(RESET_PARAMETERS))} of a model declared by its equations "
            "(build a population with the new values instead)")
    root.model = new_model


# ---- weights ---------------------------------------------------------------------------------

def _track(proj) -> int:
    if proj._track is None:
        raise ParameterError(
            f"projection '{proj.name}' does not keep its connectivity, so its weights cannot be "
            "read or changed; create it with net.connect(..., keep_connectivity=True) or "
            "edsim.Network(keep_connectivity=True)")
    return proj._track


def _indices(values, what: str, bound: int, proj) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values))
    if arr.ndim != 1 or arr.dtype.kind not in "iu" or arr.dtype == bool:
        raise ParameterError(f"{what} of projection '{proj.name}' must be integers, 1-D "
                             f"(got {values!r})")
    if arr.size and (arr.min() < 0 or arr.max() >= bound):
        bad = arr[(arr < 0) | (arr >= bound)][0]
        raise ParameterError(f"{what} {bad} is out of range for projection '{proj.name}' "
                             f"(valid: 0..{bound - 1})")
    return arr.astype(np.int64)


def _edges(proj, edges, pre, post) -> np.ndarray | None:
    """Edge indices selected by ``edges`` or by ``(pre, post)`` pairs; None for all edges."""
    if edges is not None and (pre is not None or post is not None):
        raise ParameterError(f"select synapses of projection '{proj.name}' by edges or by "
                             "(pre, post), not both")
    if pre is None and post is None:
        return None if edges is None else _indices(edges, "edge", proj.n_connections, proj)
    if pre is None or post is None:
        raise ParameterError(f"give both pre and post to select synapses of projection "
                             f"'{proj.name}' (got only {'post' if pre is None else 'pre'})")
    pre = _indices(pre, "pre index", proj.pre.size, proj)
    post = _indices(post, "post index", proj.post.size, proj)
    if pre.size != post.size:
        if pre.size == 1:
            pre = np.full(post.size, pre[0])
        elif post.size == 1:
            post = np.full(pre.size, post[0])
        else:
            raise ParameterError(f"pre and post of projection '{proj.name}' must have the same "
                                 f"length (got {pre.size} and {post.size})")
    if proj._pairs is None:
        key = proj.pre_index * proj.post.size + proj.post_index
        order = np.argsort(key, kind="stable")
        proj._pairs = (key[order], order)
    sorted_key, order = proj._pairs
    query = pre * proj.post.size + post
    lo = np.searchsorted(sorted_key, query, "left")
    hi = np.searchsorted(sorted_key, query, "right")
    if np.any(lo == hi):
        k = int(np.argmax(lo == hi))
        raise ParameterError(f"projection '{proj.name}' has no synapse from pre {pre[k]} to post "
                             f"{post[k]}")
    if np.any(hi - lo > 1):
        k = int(np.argmax(hi - lo > 1))
        raise ParameterError(
            f"projection '{proj.name}' has {hi[k] - lo[k]} synapses from pre {pre[k]} to post "
            f"{post[k]} (multapses); select them by edge index (edges=...) instead")
    return order[lo]


def get_weights(proj, edges=None, pre=None, post=None) -> np.ndarray:
    track = _track(proj)
    idx = _edges(proj, edges, pre, post)
    n = proj.n_connections if idx is None else idx.size
    return proj.network._sim.get_weights(track, n, idx).astype(np.float64)


def set_weights(proj, values, edges=None, pre=None, post=None) -> None:
    from edsim.network import _check_weight_signs

    track = _track(proj)
    idx = _edges(proj, edges, pre, post)
    n = proj.n_connections if idx is None else idx.size
    try:
        w = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"weights of projection '{proj.name}' must be numbers "
                             f"(got {values!r})") from None
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.shape != (n,):
        raise ParameterError(f"weights of projection '{proj.name}' must be a scalar or one value "
                             f"per selected synapse ({n}) (got shape {w.shape})")
    if not np.all(np.isfinite(w)):
        raise ParameterError(f"weight must be finite (got {w[~np.isfinite(w)][0]} in projection "
                             f"'{proj.name}')")
    _check_weight_signs(w, proj.post.model, proj.receptor_type, proj.name)
    w32 = w.astype(np.float32)
    proj.network._sim.set_weights(track, w32, idx)
    if proj.weight is not None:
        if idx is None:
            proj.weight[:] = w32
        else:
            proj.weight[idx] = w32
