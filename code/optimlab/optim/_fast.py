r"""The fast paths, ``foreach=True`` and ``fused=True``, derived from each optimizer's ``update``.

Every optimizer in this package writes its rule once, for one parameter, in ``update``. The
two fast paths run that same code; neither restates a rule.

``foreach=True``: one call of ``update`` per batch of parameters
    The parameters of a group are batched (same device, dtype, state keys and step count, the
    grouping torch's foreach implementation does by device and dtype), and ``update`` runs
    *once* per batch, on :class:`TensorList` objects in place of tensors: the parameters, the
    gradients and each state entry. A method such as ``m.lerp_(g, 1 − β)`` on a
    :class:`TensorList` is one ``torch._foreach_lerp_`` call over the whole batch, so the
    Python overhead is paid once per operation instead of once per operation and parameter.
    A method without a ``torch._foreach_*`` primitive is applied tensor by tensor (same
    result, no speed-up). The step count t is read once per batch (a plain number, as in the
    for-loop), so every scalar of the rule (bias corrections, step sizes) is computed once.

``fused=True``: one compiled graph for the whole step
    ``update`` for every parameter of every fused group is traced by ``torch.compile`` into one
    graph; Inductor fuses each parameter's chain of elementwise operations into one kernel
    (C++ on a CPU, Triton on a GPU), which reads each tensor once and writes each once: one
    pass over memory instead of one per operation. The compiled function is cached by the
    compiler (per structure of the groups: number of parameters, shapes, state keys, flags);
    the first step, and a step after such a change, pays the compilation. It needs a C++
    compiler (CPU) or Triton (GPU) at run time; without one the constructor says so.

Neither path calls torch's own fused kernels (``torch._fused_*``) or its multi-tensor
functions; the ``torch._foreach_*`` primitives are the only ones used. Both give the
for-loop's numbers up to float rounding (foreach runs the same kernels, so usually bit for bit;
fused lets the compiler reorder and contract the arithmetic, e.g. into fused multiply-adds).

A rule that branches on the *value* of a tensor (``if state["step"] == 1``) cannot be batched;
a :class:`TensorList` has no truth value and says so, instead of silently taking one branch.
"""

from __future__ import annotations

import functools
import types

import torch

__all__ = ["TensorList", "foreach_update", "fused_update", "check_fused_possible"]

# The torch.compile backend of fused=True: Inductor generates the fused kernels. (A test may
# switch to "aot_eager", which traces the same graph without generating code.)
FUSED_BACKEND = "inductor"


def _common(values, what):
    """The single value of a list whose entries must agree (a dtype, a step count, ...)."""
    first = values[0]
    for v in values[1:]:
        if not (v == first):
            raise TypeError(f"TensorList: {what} differs between the tensors of a batch "
                            f"({first!r} and {v!r}); a multi-tensor step needs a common value")
    return first


def _unwrap(x):
    return x.tensors if isinstance(x, TensorList) else x


def _pick(x, i):
    return x.tensors[i] if isinstance(x, TensorList) else x


class TensorList:
    """A list of tensors that behaves, method by method, like one tensor.

    ``a.addcmul_(b, c, value=0.1)`` with ``a``, ``b``, ``c`` TensorLists of the same length is
    ``torch._foreach_addcmul_(a, b, c, value=0.1)``; a plain number or a single tensor argument
    applies to every tensor. Methods (and ``torch.*`` functions, through
    ``__torch_function__``) with no ``torch._foreach_*`` primitive for those arguments run
    tensor by tensor. In-place methods return the same TensorList, as tensors return
    themselves. Attributes (``dtype``, ``is_sparse``, ...) and scalars (``item()``) must be
    the same for every tensor and come back as that one value.
    """

    __slots__ = ("tensors",)

    def __init__(self, tensors):
        self.tensors = list(tensors)

    def __repr__(self):
        return f"TensorList({len(self.tensors)} tensors)"

    def __getattr__(self, name):  # only for names not defined on the class
        if name.startswith("__"):
            raise AttributeError(name)
        first = getattr(self.tensors[0], name)
        if callable(first):
            return functools.partial(self._call, name)
        return _common([getattr(t, name) for t in self.tensors], name)

    def _call(self, name, *args, **kwargs):
        primitive = getattr(torch, f"_foreach_{name}", None)
        if primitive is not None:
            try:
                out = primitive(self.tensors, *map(_unwrap, args),
                                **{k: _unwrap(v) for k, v in kwargs.items()})
            except TypeError:  # no overload for these arguments: one call per tensor below
                pass
            else:
                return self if name.endswith("_") else TensorList(out)
        results = [getattr(t, name)(*(_pick(a, i) for a in args),
                                    **{k: _pick(v, i) for k, v in kwargs.items()})
                   for i, t in enumerate(self.tensors)]
        return self._wrap(results, name)

    def _wrap(self, results, name):
        if all(r is t for r, t in zip(results, self.tensors)):
            return self  # in place
        if all(isinstance(r, torch.Tensor) for r in results):
            return TensorList(results)
        if all(r is None for r in results):
            return None
        return _common(results, f"{name}()")

    @classmethod
    def __torch_function__(cls, func, types_, args=(), kwargs=None):
        """``torch.maximum(a, b, out=a)`` and friends: ``torch._foreach_maximum_``, or one call per tensor."""
        kwargs = dict(kwargs or {})
        out = kwargs.pop("out", None)
        name = getattr(func, "__name__", "")
        if isinstance(out, TensorList) and args and args[0] is out:
            primitive = getattr(torch, f"_foreach_{name}_", None)
            if primitive is not None:
                try:
                    primitive(out.tensors, *map(_unwrap, args[1:]), **kwargs)
                    return out
                except TypeError:
                    pass
        lists = [a for a in (*args, *kwargs.values(), out) if isinstance(a, TensorList)]
        n = len(lists[0].tensors)
        results = [func(*(_pick(a, i) for a in args), **{k: _pick(v, i) for k, v in kwargs.items()},
                        **({"out": _pick(out, i)} if out is not None else {}))
                   for i in range(n)]
        if out is not None:
            return out
        return TensorList(results) if all(isinstance(r, torch.Tensor) for r in results) \
            else _common(results, f"{name}()")

    def __bool__(self):
        raise TypeError("a TensorList has no truth value: this rule branches on the value of a "
                        "tensor, which a multi-tensor step cannot batch; use foreach=False")

    def __gt__(self, other):
        return self._call("gt", other)

    def __ge__(self, other):
        return self._call("ge", other)

    def __lt__(self, other):
        return self._call("lt", other)

    def __le__(self, other):
        return self._call("le", other)

    def __neg__(self):
        return self._call("neg")

    def __add__(self, other):
        return self._call("add", other)

    __radd__ = __add__

    def __sub__(self, other):
        return self._call("sub", other)

    def __rsub__(self, other):
        return TensorList([other - t for t in self.tensors])

    def __mul__(self, other):
        return self._call("mul", other)

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self._call("div", other)

    def __rtruediv__(self, other):
        return TensorList([other / t for t in self.tensors])

    def __pow__(self, other):
        return self._call("pow", other)

    def __rpow__(self, other):
        return TensorList([other ** t for t in self.tensors])


def _real(x):
    return torch.view_as_real(x) if isinstance(x, torch.Tensor) and x.is_complex() else x


def _batch_key(param, state):
    """Parameters with equal keys can share one call of ``update``."""
    entries = []
    for k, v in state.items():
        if not isinstance(v, torch.Tensor):
            entries.append((k, "value", v))
        elif k == "step":
            entries.append((k, "step", v.item()))  # t is read once per batch: it must be common
        else:
            entries.append((k, "tensor", v.dtype, v.device))
    return param.device, param.dtype, param.is_complex(), tuple(entries)


def foreach_update(update, group, work):
    """``foreach=True``: run ``update`` once per batch of parameters, on :class:`TensorList` objects.

    ``work`` lists ``(param, grad, state, ...)`` of one group. State entries that ``update``
    creates or replaces are handed back to each parameter's state (complex ones as complex).
    """
    batches = {}
    for item in work:
        batches.setdefault(_batch_key(item[0], item[2]), []).append(item)
    for (_, _, is_complex, _), items in batches.items():
        states = [item[2] for item in items]
        params = TensorList(_real(item[0]) for item in items)
        grads = TensorList(_real(item[1]) for item in items)
        batched = {k: TensorList(_real(s[k]) for s in states) if isinstance(v, torch.Tensor) else v
                   for k, v in states[0].items()}
        before = dict(batched)
        update(params, grads, batched, group)
        for key, value in batched.items():
            if before.get(key) is value:
                continue  # updated in place (or untouched)
            for i, state in enumerate(states):  # created or replaced: complex again if the parameter is
                x = value.tensors[i] if isinstance(value, TensorList) else value
                state[key] = torch.view_as_complex(x) if is_complex and isinstance(x, torch.Tensor) else x


# --- parameters updated through views -----------------------------------------------------------

def _viewed(x, is_complex, is_scalar):
    if not isinstance(x, torch.Tensor):
        return x
    if is_complex and x.is_complex():
        x = torch.view_as_real(x)
    return x.view(1) if is_scalar and x.dim() == 0 else x


def needs_views(param: torch.Tensor, compiling: bool) -> bool:
    """Complex parameters always; 0-d ones while compiling (see :func:`update_through_views`)."""
    return param.is_complex() or (compiling and param.dim() == 0)


def update_through_views(update, param, grad, state, group, compiling):
    """Run ``update`` on views of the parameter, its gradient and its state; keep what it creates.

    A complex parameter is updated as a real tensor with a trailing dimension of 2 (real and
    imaginary parts), as torch does. Under ``torch.compile`` a 0-d parameter is updated
    through a 1-element view: in torch 2.13 an in-place update of a 0-d float64 tensor that is
    an input of a compiled graph is silently lost (the update through a view is kept). The step
    count is never viewed (``next_step`` takes care of it). State entries that ``update``
    creates or replaces are stored back in the parameter's own form.
    """
    is_complex, is_scalar = param.is_complex(), compiling and param.dim() == 0
    viewed = {k: v if k == "step" else _viewed(v, is_complex, is_scalar) for k, v in state.items()}
    before = dict(viewed)
    update(_viewed(param, is_complex, is_scalar), _viewed(grad, is_complex, is_scalar), viewed, group)
    for key, value in viewed.items():
        if before.get(key) is value or not isinstance(value, torch.Tensor):
            if before.get(key) is not value:
                state[key] = value
            continue
        if is_scalar and value.dim() == 1 and value.numel() == (2 if is_complex else 1):
            value = value.view(2) if is_complex else value.view(())
        state[key] = torch.view_as_complex(value) if is_complex else value


# --- fused ---------------------------------------------------------------------------------------

def _apply_all(update, batches):
    """The whole step of the fused groups: what ``torch.compile`` traces into one graph."""
    for group, items in batches:
        for param, grad, state in items:
            if needs_views(param, True):
                update_through_views(update, param, grad, state, group, True)
            else:
                update(param, grad, state, group)


def _new_compiled_step():
    """A compiled copy of :func:`_apply_all` with its own code object.

    The compiler keeps its cache (and its limit of recompilations) per code object, so each
    optimizer gets its own: two optimizers do not evict each other's graphs.
    """
    fn = types.FunctionType(_apply_all.__code__.replace(), _apply_all.__globals__, "fused_step")
    return torch.compile(fn, backend=FUSED_BACKEND, fullgraph=True)


def fused_update(optimizer, fused_groups):
    """``fused=True``: one compiled call updates every parameter of every fused group."""
    compiled = optimizer.__dict__.get("_compiled_fused_step")
    if compiled is None:
        compiled = optimizer.__dict__["_compiled_fused_step"] = _new_compiled_step()
    batches = [(group, [(param, grad, state) for param, grad, state, *_ in work])
               for group, work in fused_groups]
    compiled(optimizer.update, batches)


@functools.cache
def _compiler_problem(device_type: str) -> str | None:
    """Why ``torch.compile`` cannot generate kernels for this device type (None when it can)."""
    if device_type == "cpu":
        try:
            from torch._inductor.cpp_builder import get_cpp_compiler
            get_cpp_compiler()
        except Exception as exc:  # noqa: BLE001 -- any failure means no usable compiler
            return f"no C++ compiler was found for CPU parameters ({exc}); install one (g++ or clang++) or set CXX"
        return None
    if device_type in ("cuda", "xpu"):
        from torch.utils._triton import has_triton
        return None if has_triton() else f"Triton is not available for {device_type} parameters"
    return None


def check_fused_possible(name: str, params) -> None:
    """Raise a clear error when ``fused=True`` cannot work for these parameters."""
    for device_type in sorted({p.device.type for p in params}):
        problem = _compiler_problem(device_type)
        if problem:
            raise RuntimeError(f"{name}(fused=True) compiles the update with torch.compile, but "
                               f"{problem}. Use foreach=True or the default for-loop instead.")
