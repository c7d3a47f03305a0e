"""The loops of the compiled kernels, in plain Python, and their compilation with numba.

Each loop here is the body of one kernel of :mod:`rl_planners.bellman.kernels`
(the fused Jacobi and Gauss–Seidel sweeps, ``Q``, the greedy policy, the
continuation extremes), of :mod:`rl_planners.bellman.policy_rows` (products
with a deterministic policy's rows) or of
:mod:`rl_planners.solvers.krylov_steps` (BiCGSTAB's vector steps, one pass
each). :func:`compile_loops` compiles them for one row width; the wrappers in
those modules give them their arrays.

The per-row sum ``Σ_k p_k [¬term_k] x(s'_k)`` (``_row_future``) and the
per-state backup ``max_a [R(s,a) + γ Σ_k p_k [¬term_k] V(s'_k)]``
(``_state_backup``) are written once and inlined into every kernel.
"""

from __future__ import annotations

import functools
import os
import threading
import types
from typing import Any

import numpy as np

__all__ = ["PARALLEL_LOCK", "compile_loops", "compiled_available"]

PARALLEL_LOCK = threading.Lock()
"""Serialises the parallel kernels: numba's workqueue layer allows one launch at a time."""


@functools.cache
def compiled_available() -> bool:
    """Whether numba can be imported (the compiled backend is usable)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


# Plain Python here; `compile_loops` compiles them with numba, where `prange`
# becomes numba.prange (a parallel loop), `_ROW_WIDTH` a compile-time constant
# (0: rows of any length), and the helpers `_row_span`, `_row_future` and
# `_state_backup` compiled functions that numba inlines into the kernels.
prange = range
_ROW_WIDTH = 0
_REVERSE = False


def _row_span(offsets, row):
    """Where row ``s*A + a``'s outcomes start, and how many it has.

    With a fixed width ``K`` that is ``row·K`` and ``K``: no offsets are read,
    and the row loop has a constant trip count for the compiler to unroll.
    """
    if _ROW_WIDTH:
        return row * _ROW_WIDTH, _ROW_WIDTH
    first = offsets[row]
    return first, offsets[row + 1] - first


def _row_future(next_state, prob, terminated, has_term, x, first, count):
    """``Σ_k p_k [¬term_k] x(s'_k)`` over the ``count`` outcomes from ``first`` (one row)."""
    acc = 0.0
    if has_term:
        for k in range(count):
            j = first + k
            if not terminated[j]:
                acc += prob[j] * x[next_state[j]]
    else:
        for k in range(count):
            j = first + k
            acc += prob[j] * x[next_state[j]]
    return acc


def _state_backup(offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, s):
    """``(T V)(s) = max_a [R(s,a) + γ Σ_k p_k [¬term_k] V(s'_k)]`` (branch-free max)."""
    best = -np.inf
    row = s * n_actions
    for a in range(n_actions):
        first, count = _row_span(offsets, row + a)
        future = _row_future(next_state, prob, terminated, has_term, V, first, count)
        best = max(best, R[row + a] + gamma * future)
    return best


def _jacobi_kernel(
    offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, out, policy, stats
):
    # Two backups, the plain one where no policy is recorded: taking the
    # argmax's backup always (and dropping the policy) made the plain sweep
    # about 18% slower on the 1000 x 1000 grid.
    n_states = V.shape[0]
    n_chunks = stats.shape[0]
    record = policy.shape[0] > 0
    for chunk in prange(n_chunks):
        first = chunk * n_states // n_chunks
        last = (chunk + 1) * n_states // n_chunks
        high, low, top = -np.inf, np.inf, 0.0
        for s in range(first, last):
            if record:
                best, chosen = _state_backup_argmax(
                    offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, s
                )
                policy[s] = chosen
            else:
                best = _state_backup(
                    offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, s
                )
            out[s] = best
            d = best - V[s]
            high = max(high, d)
            low = min(low, d)
            top = max(top, abs(best))
        stats[chunk, 0] = high
        stats[chunk, 1] = low
        stats[chunk, 2] = top


def _state_backup_argmax(
    offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, s
):
    """``(T V)(s)`` and the first action attaining it (the lowest index among ties)."""
    best = -np.inf
    chosen = 0
    row = s * n_actions
    for a in range(n_actions):
        first, count = _row_span(offsets, row + a)
        future = _row_future(next_state, prob, terminated, has_term, V, first, count)
        value = R[row + a] + gamma * future
        if value > best:
            best = value
            chosen = a
    return best, chosen


def _gauss_seidel_kernel(
    offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, policy, stats
):
    # In place, one thread; states in increasing order, or decreasing when
    # compiled with _REVERSE (a constant, so that each direction gets its own loop).
    # The choice between the two backups is written out here as in the Jacobi
    # kernel (see there); one more inlined helper around them made
    # Gauss–Seidel modified policy iteration 2.7x slower on a 300 x 300 grid.
    n_states = V.shape[0]
    record = policy.shape[0] > 0
    high, low, top = -np.inf, np.inf, 0.0
    for i in range(n_states):
        s = n_states - 1 - i if _REVERSE else i
        if record:
            best, chosen = _state_backup_argmax(
                offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, s
            )
            policy[s] = chosen
        else:
            best = _state_backup(
                offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, s
            )
        d = best - V[s]
        V[s] = best
        high = max(high, d)
        low = min(low, d)
        top = max(top, abs(best))
    stats[0, 0] = high
    stats[0, 1] = low
    stats[0, 2] = top


def _rows_gauss_seidel_kernel(offsets, next_state, weight, terminated, R, V, gamma):
    # Gauss–Seidel on gathered policy rows: in place, V(s) ← R_π(s) + γ Σ_k w_k V(s'_k),
    # in increasing order, or decreasing when compiled with _REVERSE. No
    # statistics: their updates lengthened the loop by up to 40%.
    n_states = V.shape[0]
    for i in range(n_states):
        s = n_states - 1 - i if _REVERSE else i
        first, count = _row_span(offsets, s)
        # terminating outcomes already weigh 0: no flags to read
        V[s] = R[s] + gamma * _row_future(next_state, weight, terminated, False, V, first, count)


def _q_kernel(offsets, next_state, prob, terminated, has_term, R, V, gamma, Q):
    for row in prange(Q.shape[0]):
        first, count = _row_span(offsets, row)
        future = _row_future(next_state, prob, terminated, has_term, V, first, count)
        Q[row] = R[row] + gamma * future


def _policy_kernel(
    offsets, next_state, prob, terminated, has_term, R, policy, x, alpha, beta, g, n_actions, out
):
    for s in prange(x.shape[0]):
        row = s * n_actions + policy[s]
        first, count = _row_span(offsets, row)
        future = _row_future(next_state, prob, terminated, has_term, x, first, count)
        out[s] = alpha * x[s] + beta * R[row] + g * future


def _gather_kernel(
    offsets,
    next_state,
    prob,
    terminated,
    has_term,
    R,
    policy,
    states,
    n_actions,
    offsets_out,
    next_state_out,
    weight_out,
    R_out,
):
    for i in prange(states.shape[0]):
        s = states[i]
        row = s * n_actions + policy[s]
        first, count = _row_span(offsets, row)
        target = offsets_out[s]
        for k in range(count):
            j = first + k
            next_state_out[target + k] = next_state[j]
            weight_out[target + k] = 0.0 if has_term and terminated[j] else prob[j]
        R_out[s] = R[row]


def _rows_kernel(offsets, next_state, weight, terminated, R, x, alpha, beta, g, out, stats):
    n_states = x.shape[0]
    n_chunks = stats.shape[0]
    if n_chunks == 0:  # no statistics asked for (a Krylov product): the bare loop
        for s in prange(n_states):
            first, count = _row_span(offsets, s)
            # terminating outcomes already weigh 0: no flags to read
            future = _row_future(next_state, weight, terminated, False, x, first, count)
            out[s] = alpha * x[s] + beta * R[s] + g * future
        return
    for chunk in prange(n_chunks):
        high, low, top = -np.inf, np.inf, 0.0
        for s in range(chunk * n_states // n_chunks, (chunk + 1) * n_states // n_chunks):
            first, count = _row_span(offsets, s)
            # terminating outcomes already weigh 0: no flags to read
            future = _row_future(next_state, weight, terminated, False, x, first, count)
            value = alpha * x[s] + beta * R[s] + g * future
            out[s] = value
            d = value - x[s]
            high = max(high, d)
            low = min(low, d)
            top = max(top, abs(value))
        stats[chunk, 0] = high
        stats[chunk, 1] = low
        stats[chunk, 2] = top


def _q_scale_kernel(offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, scale):
    n_states = V.shape[0]
    n_chunks = scale.shape[0]
    for chunk in prange(n_chunks):
        top = 0.0
        for s in range(chunk * n_states // n_chunks, (chunk + 1) * n_states // n_chunks):
            row = s * n_actions
            for a in range(n_actions):
                first, count = _row_span(offsets, row + a)
                future = _row_future(next_state, prob, terminated, has_term, V, first, count)
                top = max(top, abs(R[row + a] + gamma * future))
        scale[chunk] = top


def _greedy_kernel(
    offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, atol, n_chunks, policy
):
    n_states = V.shape[0]
    for chunk in prange(n_chunks):
        q = np.empty(n_actions)  # one state's action values, reused across the chunk
        for s in range(chunk * n_states // n_chunks, (chunk + 1) * n_states // n_chunks):
            row = s * n_actions
            best = -np.inf
            for a in range(n_actions):
                first, count = _row_span(offsets, row + a)
                future = _row_future(next_state, prob, terminated, has_term, V, first, count)
                q[a] = R[row + a] + gamma * future
                best = max(best, q[a])
            threshold = best - atol
            chosen = 0
            for a in range(n_actions):
                if q[a] >= threshold:
                    chosen = a
                    break
            policy[s] = chosen


def _continuation_kernel(offsets, prob, terminated, has_term, n_actions, lowest, highest):
    n_states = highest.shape[0]
    n_chunks = lowest.shape[0]
    for chunk in prange(n_chunks):
        low = np.inf
        for s in range(chunk * n_states // n_chunks, (chunk + 1) * n_states // n_chunks):
            high = -np.inf
            for a in range(n_actions):
                first, count = _row_span(offsets, s * n_actions + a)
                goes_on = 0.0
                for j in range(first, first + count):
                    if not (has_term and terminated[j]):
                        goes_on += prob[j]
                high = max(high, goes_on)
                low = min(low, goes_on)
            highest[s] = high
        lowest[chunk] = low


# BiCGSTAB's vector steps (rl_planners.solvers.krylov_steps), each one pass over
# its vectors in place of several NumPy calls. Sums are taken per chunk, the
# chunks fixed by the length alone (not the thread count), and added in order:
# the same floats on any number of threads. Each update is the textbook
# expression's operations in its order (no fastmath: no contraction to FMA).
def _chunk_span(n, n_chunks, chunk):
    return chunk * n // n_chunks, (chunk + 1) * n // n_chunks


def _direction_loop(p, r, v, beta, omega):
    # p = r + β (p − ω v)
    for i in prange(p.shape[0]):
        p[i] = r[i] + beta * (p[i] - omega * v[i])


def _half_step_loop(r, v, alpha, partial):
    # s = r − α v, in r's memory; per chunk: max s, min s
    n, n_chunks = r.shape[0], partial.shape[0]
    for chunk in prange(n_chunks):
        first, last = _chunk_span(n, n_chunks, chunk)
        high, low = -np.inf, np.inf
        for i in range(first, last):
            value = r[i] - alpha * v[i]
            r[i] = value
            high = max(high, value)
            low = min(low, value)
        partial[chunk, 0] = high
        partial[chunk, 1] = low


def _dots_loop(x, y, z, partial):
    # per chunk: x·y and x·z
    n, n_chunks = x.shape[0], partial.shape[0]
    for chunk in prange(n_chunks):
        first, last = _chunk_span(n, n_chunks, chunk)
        xy = xz = 0.0
        for i in range(first, last):
            xy += x[i] * y[i]
            xz += x[i] * z[i]
        partial[chunk, 0] = xy
        partial[chunk, 1] = xz


def _update_loop(x, alpha, p_hat, omega, s_hat, s, t, r_hat, partial):
    # x += α p̂, x += ω ŝ; r = s − ω t in s's memory; per chunk: max r, min r, r̂·r
    n, n_chunks = x.shape[0], partial.shape[0]
    for chunk in prange(n_chunks):
        first, last = _chunk_span(n, n_chunks, chunk)
        high, low, dot = -np.inf, np.inf, 0.0
        for i in range(first, last):
            x[i] = x[i] + alpha * p_hat[i]
            x[i] = x[i] + omega * s_hat[i]
            value = s[i] - omega * t[i]
            s[i] = value
            high = max(high, value)
            low = min(low, value)
            dot += r_hat[i] * value
        partial[chunk, 0] = high
        partial[chunk, 1] = low
        partial[chunk, 2] = dot


@functools.cache
def compile_loops(row_width: int) -> Any:
    """Import numba and compile the kernels for ``row_width`` (0: any), or load them.

    Cached per process and width: the compiled code, not any model state.
    numba compiles each kernel on its first call, so a width compiles only
    the kernels its solver uses.
    """
    if not compiled_available():
        raise ModuleNotFoundError("the compiled kernels need numba (pip install numba)")
    import numba

    if "NUMBA_THREADING_LAYER" not in os.environ and numba.config.THREADING_LAYER == "default":
        # OpenMP's workers spin after every parallel loop and then fight NumPy's
        # OpenBLAS threads for the cores: on two cores a BiCGSTAB solve ran 10x
        # slower and a sweep 2-3x. The workqueue layer's workers sleep instead.
        # Honoured only if no parallel code has run yet; the user's choice wins.
        numba.config.THREADING_LAYER = "workqueue"

    scope = dict(globals(), prange=numba.prange, _ROW_WIDTH=row_width)

    def jit(
        function: Any, parallel: bool = False, inline: str = "never", reverse: bool = False
    ) -> Any:
        globals_ = dict(scope, _REVERSE=True) if reverse else scope
        copy = types.FunctionType(function.__code__, globals_, function.__name__)
        # numba's on-disk cache is looked up by qualified name and bytecode,
        # not by globals: the width and the direction go into the name.
        direction = "_reverse" if reverse else ""
        copy.__qualname__ = f"{function.__qualname__}{direction}_width{row_width}"
        options = dict(cache=True, nogil=True, error_model="numpy", inline=inline)
        return numba.njit(parallel=parallel, **options)(copy)

    # The helpers first, inlined at numba's level rather than called once per
    # row or state with all their array arguments: the kernels' copies look
    # them up in `scope` when compiled.
    for helper in (_row_span, _row_future, _state_backup, _state_backup_argmax, _chunk_span):
        scope[helper.__name__] = jit(helper, inline="always")

    return types.SimpleNamespace(
        jacobi=jit(_jacobi_kernel, parallel=True),
        gauss_seidel=jit(_gauss_seidel_kernel),
        gauss_seidel_reverse=jit(_gauss_seidel_kernel, reverse=True),
        rows_gauss_seidel=jit(_rows_gauss_seidel_kernel),
        rows_gauss_seidel_reverse=jit(_rows_gauss_seidel_kernel, reverse=True),
        q_values=jit(_q_kernel, parallel=True),
        policy_apply=jit(_policy_kernel, parallel=True),
        rows_apply=jit(_rows_kernel, parallel=True),
        gather_rows=jit(_gather_kernel, parallel=True),
        q_scale=jit(_q_scale_kernel, parallel=True),
        greedy=jit(_greedy_kernel, parallel=True),
        continuation=jit(_continuation_kernel, parallel=True),
        direction=jit(_direction_loop, parallel=True),
        half_step=jit(_half_step_loop, parallel=True),
        dots=jit(_dots_loop, parallel=True),
        update=jit(_update_loop, parallel=True),
        n_threads=numba.get_num_threads(),
    )
