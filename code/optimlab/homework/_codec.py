"""Values as plain JSON, both ways across the sandbox wall.

What a learner's function returns comes back to the grader as JSON text and nothing else: numbers,
strings, ``None``, lists, tuples, string-keyed dicts, tensors and NumPy arrays (dtype, shape and the
numbers), complex numbers. Decoding builds only those types, so no object of the submission's making
(a subclass with its own ``__eq__``, a tensor subclass, a pickle) ever reaches the comparison.
Anything else becomes an :class:`Opaque` value that equals nothing.

Inputs travel the other way. Most are plain data too; an input that is not (an objective with its
function, for instance) is pickled by the grader and unpickled inside the sandbox only
(``allow_pickle=True``), never on the grader's side.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

import numpy as np

TAG = "$"
MAX_DEPTH = 32
MAX_ELEMENTS = 5_000_000        # numbers in one decoded value, all arrays together

_DTYPES = ("float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
           "complex64", "complex128")


class CodecError(ValueError):
    """A value that cannot be written, or JSON that does not describe a value."""


@dataclass(frozen=True)
class Opaque:
    """Stands for a returned object the grader does not read (its type and a short repr, for hints)."""
    type: str
    text: str

    def __eq__(self, other):
        return False

    __hash__ = None

    def __repr__(self):
        return f"<{self.type}: {self.text}>"


def _number(x):
    """A JSON number, or a tagged one for the values JSON lacks (inf, nan)."""
    if isinstance(x, float) and not math.isfinite(x):
        return {TAG: "float", "repr": repr(x)}
    return x


def _array(kind: str, array: np.ndarray, dtype: str) -> dict:
    flat = array.reshape(-1)
    if np.iscomplexobj(flat):
        data = [[_number(float(z.real)), _number(float(z.imag))] for z in flat.tolist()]
    else:
        data = [_number(v) for v in flat.tolist()]
    return {TAG: kind, "dtype": dtype, "shape": list(array.shape), "data": data}


def encode(value, *, allow_pickle: bool = False, _depth: int = 0):
    """``value`` as a JSON-ready tree (see the module docstring)."""
    if _depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    again = lambda v: encode(v, allow_pickle=allow_pickle, _depth=_depth + 1)  # noqa: E731
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return _number(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _number(float(value))
    if isinstance(value, (complex, np.complexfloating)):
        return {TAG: "complex", "re": _number(float(value.real)), "im": _number(float(value.imag))}
    if isinstance(value, str):
        return str.__str__(value)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None and isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        dtype = str(tensor.dtype).removeprefix("torch.")
        if dtype not in _DTYPES or tensor.is_sparse or tensor.layout != torch.strided:
            return _opaque(value)
        array = tensor.to(torch.float32).numpy() if dtype == "bfloat16" else tensor.resolve_conj().numpy()
        return _array("tensor", np.array(array), dtype)
    if isinstance(value, np.ndarray):
        if value.dtype.name not in _DTYPES:
            return _opaque(value)
        return _array("ndarray", value, value.dtype.name)
    if isinstance(value, tuple) and type(value) is tuple:
        return {TAG: "tuple", "items": [again(v) for v in value]}
    if isinstance(value, list) and type(value) is list:
        return [again(v) for v in value]
    if isinstance(value, dict) and type(value) is dict and all(type(k) is str for k in value):
        return {TAG: "dict", "items": [[k, again(v)] for k, v in value.items()]}
    if allow_pickle:
        import cloudpickle

        return {TAG: "pickle", "data": base64.b64encode(cloudpickle.dumps(value)).decode("ascii")}
    if isinstance(value, (tuple, list)):  # a namedtuple or a list subclass: its items, as the plain type
        items = [again(v) for v in value]
        return {TAG: "tuple", "items": items} if isinstance(value, tuple) else items
    return _opaque(value)


def _opaque(value) -> dict:
    try:
        text = repr(value)
    except Exception:
        text = "?"
    return {TAG: "opaque", "type": type(value).__name__[:80], "repr": text[:200]}


class _Budget:
    def __init__(self):
        self.left = MAX_ELEMENTS

    def take(self, n: int):
        self.left -= n
        if self.left < 0:
            raise CodecError("value too large")


def _float(x):
    if isinstance(x, dict) and x.get(TAG) == "float" and x.get("repr") in ("inf", "-inf", "nan"):
        return float(x["repr"])
    if type(x) in (int, float) and type(x) is not bool:
        return float(x)
    raise CodecError("not a number")


def _decode_array(tree: dict, budget: _Budget):
    dtype, shape, data = tree.get("dtype"), tree.get("shape"), tree.get("data")
    if dtype not in _DTYPES or not isinstance(shape, list) or not isinstance(data, list):
        raise CodecError("malformed array")
    if len(shape) > 16 or not all(type(n) is int and 0 <= n for n in shape):
        raise CodecError("malformed array shape")
    size = math.prod(shape)
    budget.take(size)
    if size != len(data):
        raise CodecError("array data does not match its shape")
    if dtype.startswith("complex"):
        values = [complex(_float(z[0]), _float(z[1])) if isinstance(z, list) and len(z) == 2 else _bad()
                  for z in data]
    elif dtype == "bool":
        values = [v if type(v) is bool else _bad() for v in data]
    elif dtype.startswith(("int", "uint")):
        values = [v if type(v) is int else _bad() for v in data]
    else:
        values = [_float(v) for v in data]
    storage = "float32" if dtype == "bfloat16" else dtype
    try:
        array = np.array(values, dtype=storage).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise CodecError(f"malformed array: {exc}") from None
    if tree[TAG] == "ndarray":
        return array
    import torch

    tensor = torch.from_numpy(array)
    return tensor.to(torch.bfloat16) if dtype == "bfloat16" else tensor


def _bad():
    raise CodecError("array element of the wrong type")


def decode(tree, *, allow_pickle: bool = False, _budget: _Budget | None = None, _depth: int = 0):
    """The value a tree from :func:`encode` describes; :class:`CodecError` for anything else."""
    budget = _budget or _Budget()
    if _depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    again = lambda t: decode(t, allow_pickle=allow_pickle, _budget=budget, _depth=_depth + 1)  # noqa: E731
    budget.take(1)
    if tree is None or type(tree) in (bool, int, float, str):
        return tree
    if type(tree) is list:
        return [again(t) for t in tree]
    if type(tree) is not dict:
        raise CodecError(f"unexpected {type(tree).__name__}")
    kind = tree.get(TAG)
    if kind == "float":
        return _float(tree)
    if kind == "complex":
        return complex(_float(tree.get("re")), _float(tree.get("im")))
    if kind in ("tensor", "ndarray"):
        return _decode_array(tree, budget)
    if kind == "tuple" and type(tree.get("items")) is list:
        return tuple(again(t) for t in tree["items"])
    if kind == "dict" and type(tree.get("items")) is list:
        items = tree["items"]
        if not all(type(p) is list and len(p) == 2 and type(p[0]) is str for p in items):
            raise CodecError("malformed dict")
        return {k: again(v) for k, v in items}
    if kind == "opaque":
        return Opaque(str(tree.get("type", "object"))[:80], str(tree.get("repr", ""))[:200])
    if kind == "pickle" and allow_pickle:
        import pickle

        return pickle.loads(base64.b64decode(tree["data"]))
    raise CodecError(f"unknown tag {kind!r}")


def dumps(value, *, allow_pickle: bool = False) -> str:
    return json.dumps(encode(value, allow_pickle=allow_pickle), allow_nan=False, separators=(",", ":"))


def loads(text: str, *, allow_pickle: bool = False):
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"not JSON: {str(exc)[:100]}") from None
    try:
        return decode(tree, allow_pickle=allow_pickle)
    except RecursionError:
        raise CodecError("value nested too deeply") from None
