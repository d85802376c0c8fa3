r"""Data-parallel optimization on the real engine, ``torch.distributed``, runnable on a laptop.

Everything here runs unchanged in three settings:

* from a notebook or a test, with :func:`launch`, which starts ``world_size`` fresh processes
  on this machine, joins them with the ``gloo`` backend over the loopback interface and returns
  what each process returned;
* from ``torchrun --nproc_per_node=N -m optimlab.distributed`` (one machine or a cluster),
  which sets the same environment variables that :func:`launch` sets (``RANK``,
  ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``);
* on GPUs with the ``nccl`` backend, by choosing ``backend="nccl"`` and putting each
  process's model on ``cuda:LOCAL_RANK``.

The pieces, each written once and small enough to read:

* :func:`average_gradients_` is data parallelism from scratch: after each process has computed
  the gradient of the mean loss on its shard of the batch, ``all_reduce`` sums the p gradients
  and each process divides by p, so every process holds
  :math:`g = \frac1p \sum_k g_k`, the gradient of the mean loss on the whole batch (when the
  shards have equal sizes), and every process takes the same step.
* :func:`ring_allreduce_bytes` is the cost model of the ring all-reduce: each process sends
  (and receives) :math:`2\,\frac{p-1}{p}\,n` bytes for a gradient of n bytes.
* :class:`ZeroShardedOptimizer` is ZeRO stage 1 from scratch: each process keeps the
  optimizer state of only the parameters it owns (about 1/p of it), steps those, and
  broadcasts them to the others.

Functions passed to :func:`launch` must be importable by the new processes (defined in a
module, not in a notebook cell); the experiments of the chapter on data-parallel optimization
live at the end of this module for that reason.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

__all__ = ["launch", "can_launch", "free_port", "average_gradients_", "ring_allreduce_bytes",
           "shard_of", "ZeroShardedOptimizer", "optimizer_state_bytes"]


# --------------------------------------------------------------------------------------------
# Launching processes
# --------------------------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the operating system picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(fn, rank: int, world_size: int, port: int, backend: str, kwargs: dict, out: str) -> None:
    # The same variables torchrun sets, so fn can call dist.init_process_group() either way.
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_WORLD_SIZE=str(world_size), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")   # loopback only: nothing leaves the machine
    torch.set_num_threads(1)                             # p processes share the cores
    path = Path(out) / f"rank{rank}.pt"
    try:
        dist.init_process_group(backend)
        try:
            result = fn(rank, world_size, **kwargs)
        finally:
            dist.destroy_process_group()
        torch.save({"ok": True, "result": result}, path)
    except BaseException:  # report any failure to the parent instead of dying silently
        torch.save({"ok": False, "error": traceback.format_exc()}, path)
        raise


def launch(fn: Callable, world_size: int = 2, *, backend: str = "gloo", timeout: float = 120.0,
           **kwargs) -> list:
    """Run ``fn(rank, world_size, **kwargs)`` in ``world_size`` new processes; return their results.

    The processes are joined into one process group (``backend``, default ``gloo``) on
    127.0.0.1 before ``fn`` runs and leave it after. Results come back by rank (anything
    ``torch.save`` can store). A process that raises makes this raise ``RuntimeError`` with its
    traceback; a run longer than ``timeout`` seconds is killed and raises ``TimeoutError``.
    """
    if world_size < 1:
        raise ValueError(f"Invalid world_size: {world_size} (expected 1 <= world_size)")
    ctx = mp.get_context("spawn")   # fresh interpreters: safe whatever threads this process runs
    with tempfile.TemporaryDirectory(prefix="optimlab-dist-") as out:
        port = free_port()
        procs = [ctx.Process(target=_worker, args=(fn, rank, world_size, port, backend, kwargs, out),
                             daemon=True) for rank in range(world_size)]
        for proc in procs:
            proc.start()
        deadline = time.monotonic() + timeout
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
        alive = [proc for proc in procs if proc.is_alive()]
        for proc in alive:
            proc.kill()
            proc.join()
        if alive:
            raise TimeoutError(f"launch: {len(alive)} of {world_size} processes still running after "
                               f"{timeout} s; killed")
        results = []
        for rank in range(world_size):
            path = Path(out) / f"rank{rank}.pt"
            if not path.exists():
                raise RuntimeError(f"launch: process {rank} died without a result "
                                   f"(exit code {procs[rank].exitcode})")
            report = torch.load(path, weights_only=False)
            if not report["ok"]:
                raise RuntimeError(f"launch: process {rank} failed:\n{report['error']}")
            results.append(report["result"])
        return results


def _ping(rank: int, world_size: int) -> int:
    x = torch.tensor([rank + 1])
    dist.all_reduce(x)
    return int(x)


def can_launch(world_size: int = 2, timeout: float = 60.0) -> tuple[bool, str]:
    """Whether :func:`launch` works here: ``(True, "")`` or ``(False, reason)``."""
    try:
        results = launch(_ping, world_size, timeout=timeout)
    except Exception as error:  # noqa: BLE001 - any failure means "cannot", with its reason
        return False, f"{type(error).__name__}: {error}"
    expected = world_size * (world_size + 1) // 2
    if results != [expected] * world_size:
        return False, f"all_reduce gave {results}, expected {expected} on every rank"
    return True, ""


# --------------------------------------------------------------------------------------------
# Data parallelism from scratch
# --------------------------------------------------------------------------------------------

def shard_of(batch: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """This process's contiguous share of a batch (sizes differ by at most one example)."""
    return batch.tensor_split(world_size)[rank]


@torch.no_grad()
def average_gradients_(module_or_params, world_size: int | None = None) -> None:
    """In place on every process: ``g ← (1/p) Σ_k g_k``, the mean of the p processes' gradients."""
    params = module_or_params.parameters() if isinstance(module_or_params, torch.nn.Module) \
        else module_or_params
    p = world_size or dist.get_world_size()
    for param in params:
        if param.grad is not None:
            dist.all_reduce(param.grad, op=dist.ReduceOp.SUM)    # Σ_k g_k, on every process
            param.grad.div_(p)                                     # (1/p) Σ_k g_k


def ring_allreduce_bytes(n_bytes: float, world_size: int) -> float:
    """Bytes each process sends in a ring all-reduce of ``n_bytes``: ``2 (p − 1)/p · n``.

    The ring cuts the tensor into p chunks. In p − 1 reduce-scatter steps each process sends
    one chunk to its neighbour and adds the chunk it receives, after which each process holds
    one chunk of the sum; in p − 1 all-gather steps the summed chunks travel round the ring.
    That is 2(p − 1) chunks of n/p bytes, whatever p: the traffic per process tends to 2n.
    """
    if world_size < 1:
        raise ValueError(f"Invalid world_size: {world_size} (expected 1 <= world_size)")
    return 2.0 * (world_size - 1) / world_size * n_bytes


# --------------------------------------------------------------------------------------------
# ZeRO stage 1: the optimizer's state sharded across processes
# --------------------------------------------------------------------------------------------

def optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes held by the tensors of an optimizer's state (moments, buffers, step counts)."""
    return sum(value.numel() * value.element_size()
               for state in optimizer.state.values() for value in state.values()
               if isinstance(value, torch.Tensor))


def _partition(sizes: Sequence[int], world_size: int) -> list[int]:
    """Owner of each parameter: the largest first, each to the process holding the fewest elements."""
    load, owner = [0] * world_size, [0] * len(sizes)
    for i in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        rank = min(range(world_size), key=lambda r: (load[r], r))
        owner[i] = rank
        load[rank] += sizes[i]
    return owner


class ZeroShardedOptimizer:
    """ZeRO stage 1 from scratch: every process steps and keeps state only for the parameters it owns.

    All processes hold all parameters and (after :func:`average_gradients_` or DDP) the same
    averaged gradients. Parameters are dealt to owners by size (the largest first, each to the
    process with the least so far). On :meth:`step` each process runs its own
    ``optimizer_class`` over the parameters it owns, then every parameter is broadcast from its
    owner, so all processes end the step with the same parameters, exactly those an unsharded
    optimizer would have computed. The optimizer's state, usually the largest part of training
    memory after the activations (two moments per parameter for Adam), is split p ways.

    ``consolidated_state_dict()`` gathers every owner's state into one state dict that a plain,
    unsharded ``optimizer_class`` over the same parameters loads (every process gets it).
    """

    def __init__(self, params, optimizer_class: type[torch.optim.Optimizer], **defaults):
        self.params = [p for p in params]
        if not self.params:
            raise ValueError("ZeroShardedOptimizer got an empty parameter list")
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        self.owner = _partition([p.numel() for p in self.params], self.world_size)
        self.owned = [i for i, r in enumerate(self.owner) if r == self.rank]
        self.optimizer_class, self.defaults = optimizer_class, defaults
        # A process that owns nothing still needs an optimizer object for the bookkeeping.
        mine = [self.params[i] for i in self.owned] or [torch.nn.Parameter(torch.zeros(0))]
        self.local = optimizer_class(mine, **defaults)

    @property
    def param_groups(self):
        return self.local.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def step(self, closure=None):
        loss = self.local.step(closure)                    # update the parameters this process owns
        for param, owner in zip(self.params, self.owner):  # everyone gets every owner's result
            dist.broadcast(param.data, src=owner)
        return loss

    def consolidated_state_dict(self) -> dict:
        """The state dict of an unsharded ``optimizer_class(params, **defaults)``, on every process."""
        local = self.local.state_dict()
        mine = {index: local["state"][k] for k, index in enumerate(self.owned) if k in local["state"]}
        gathered = [None] * self.world_size
        dist.all_gather_object(gathered, mine)
        state = {index: value for part in gathered for index, value in part.items()}
        group = {key: value for key, value in local["param_groups"][0].items() if key != "params"}
        group["params"] = list(range(len(self.params)))
        return {"state": dict(sorted(state.items())), "param_groups": [group]}


# --------------------------------------------------------------------------------------------
# The experiments of the chapter (importable, so that launched processes can run them)
# --------------------------------------------------------------------------------------------

def _digits_problem(seed: int, hidden: int = 32, dtype: torch.dtype = torch.float64):
    from .data import load_digits
    from .train import mlp

    split = load_digits(seed=0, dtype=dtype)
    model = mlp(split.n_features, [hidden], 10, seed=seed, dtype=dtype)
    return split, model


def _batches(n: int, batch_size: int, steps: int, seed: int) -> list[torch.Tensor]:
    """The indices of ``steps`` global batches, the same on every process (one seeded generator)."""
    generator = torch.Generator().manual_seed(seed)
    return [torch.randperm(n, generator=generator)[:batch_size] for _ in range(steps)]


def train_data_parallel(rank: int, world_size: int, *, modes: Sequence[str] = ("scratch",), steps: int = 30,
                        batch_size: int = 64, lr: float = 0.5, seed: int = 0) -> dict:
    """SGD on the digits MLP, each process on its shard of every global batch; one run per mode.

    ``"scratch"``: gradients averaged by :func:`average_gradients_`; ``"ddp"``: the model wrapped
    in ``DistributedDataParallel``; ``"single"`` (no process group needed: call it with rank 0
    and world size 1) is the reference, one process on whole batches. Every run starts from the
    same weights and sees the same global batches. Returns, per mode, the final parameters and
    the mean loss of each global batch.
    """
    return {mode: _train_sgd(rank, world_size, mode, steps, batch_size, lr, seed) for mode in modes}


def _train_sgd(rank, world_size, mode, steps, batch_size, lr, seed) -> dict:
    import torch.nn.functional as F

    from .optim import SGD

    split, model = _digits_problem(seed)
    if mode == "ddp":
        model = torch.nn.parallel.DistributedDataParallel(model)
    elif mode not in ("scratch", "single"):
        raise ValueError(f"Invalid mode: {mode!r} (expected 'scratch', 'ddp' or 'single')")
    optimizer = SGD(model.parameters(), lr=lr)
    losses = []
    for batch in _batches(len(split.x_train), batch_size, steps, seed):
        mine = shard_of(batch, rank, world_size)
        loss = F.cross_entropy(model(split.x_train[mine]), split.y_train[mine])
        optimizer.zero_grad()
        loss.backward()                      # DDP averages the gradients here, bucket by bucket
        if mode == "scratch":
            average_gradients_(model, world_size)
        optimizer.step()
        total = loss.detach().clone() * len(mine)
        if mode != "single":
            dist.all_reduce(total)
        losses.append(float(total) / len(batch))
    module = model.module if mode == "ddp" else model
    return {"params": [p.detach().clone() for p in module.parameters()], "losses": losses}


def allreduce_seconds(rank: int, world_size: int, *,
                      sizes: Sequence[int] = (2 ** 10, 2 ** 12, 2 ** 14, 2 ** 16, 2 ** 18, 2 ** 20, 2 ** 21),
                      repeats: int = 15) -> dict:
    """Median seconds of one ``all_reduce`` of float32 tensors of each size (elements)."""
    times = {}
    for n in sizes:
        x = torch.ones(n)
        dist.all_reduce(x)                    # warm-up: connections and buffers
        samples = []
        for _ in range(repeats):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(x)
            samples.append(time.perf_counter() - start)
        times[n] = sorted(samples)[len(samples) // 2]
    return times


def train_zero(rank: int, world_size: int, *, steps: int = 20, batch_size: int = 64, lr: float = 1e-2,
               seed: int = 0) -> dict:
    """Adam on the digits MLP three ways on the same gradients: unsharded, our ZeRO-1, torch's.

    Each process averages gradients from scratch, then steps the three copies of the model:
    ``optimlab.optim.Adam`` over all parameters, :class:`ZeroShardedOptimizer` around it, and
    torch's ``ZeroRedundancyOptimizer`` around it. Returns the final parameters of each, the
    bytes of optimizer state this process holds for each, and the consolidated state dict.
    """
    import torch.nn.functional as F
    from torch.distributed.optim import ZeroRedundancyOptimizer

    from .optim import Adam

    split, plain_model = _digits_problem(seed)
    models = {"plain": plain_model, "ours": _digits_problem(seed)[1], "torch": _digits_problem(seed)[1]}
    optimizers = {
        "plain": Adam(models["plain"].parameters(), lr=lr),
        "ours": ZeroShardedOptimizer(models["ours"].parameters(), Adam, lr=lr),
        "torch": ZeroRedundancyOptimizer(models["torch"].parameters(), optimizer_class=Adam, lr=lr),
    }
    for batch in _batches(len(split.x_train), batch_size, steps, seed):
        mine = shard_of(batch, rank, world_size)
        for name, model in models.items():
            loss = F.cross_entropy(model(split.x_train[mine]), split.y_train[mine])
            optimizers[name].zero_grad()
            loss.backward()
            average_gradients_(model, world_size)
            optimizers[name].step()
    state_bytes = {"plain": optimizer_state_bytes(optimizers["plain"]),
                   "ours": optimizer_state_bytes(optimizers["ours"].local),
                   "torch": optimizer_state_bytes(optimizers["torch"].optim)}
    return {"params": {name: [p.detach().clone() for p in model.parameters()]
                       for name, model in models.items()},
            "state_bytes": state_bytes,
            "n_params": sum(p.numel() for p in plain_model.parameters()),
            "consolidated": optimizers["ours"].consolidated_state_dict(),
            "plain_state": optimizers["plain"].state_dict()}


def _main() -> None:
    """``torchrun --nproc_per_node=N -m optimlab.distributed``: data-parallel SGD, reported by rank 0."""
    dist.init_process_group(os.environ.get("OPTIMLAB_BACKEND", "gloo"))
    rank, world_size = dist.get_rank(), dist.get_world_size()
    result = train_data_parallel(rank, world_size)["scratch"]
    if rank == 0:
        print(f"{world_size} processes, {len(result['losses'])} steps: batch loss "
              f"{result['losses'][0]:.4f} -> {result['losses'][-1]:.4f}")
    dist.destroy_process_group()


if __name__ == "__main__":
    _main()
