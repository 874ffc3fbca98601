"""The measurements themselves: the ONLY module of gpuplanner that imports torch.

Imported lazily by the child process (gpuplanner.bench.child) after it has set up its
protocol output, so a missing torch becomes a clean ``no_torch`` error message. Each
``run_*`` function reports through a Session and checks for cancel between steps.
"""
from __future__ import annotations

import contextlib
import gc
import math
import platform
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import torch
import torch.nn.functional as F
from torch import nn

from gpuplanner.bench import process_memory
from gpuplanner.bench.config import TrainConfig
from gpuplanner.bench.session import Session

MIB = 2**20

_TORCH_DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


MAX_CALL_S = 1.0  # the longest single matmul call worth timing (seven calls per size)


class NoDevice(RuntimeError):
    """The requested device is not usable by this torch build."""


@dataclass(frozen=True)
class Sizes:
    """How big and how long each phase is on one kind of device."""

    ramp_cap_bytes: int | None  # None: the memory fraction alone decides
    ramp_steps: int
    hold_s: float
    matmul_sizes: tuple[int, ...]
    copy_bytes: tuple[int, ...]
    min_timed_s: float  # each timed loop runs at least this long


_SIZES = {
    ("cpu", True): Sizes(64 * MIB, 8, 0.3, (256, 512, 1024), (32 * MIB,), 0.15),
    ("cpu", False): Sizes(256 * MIB, 8, 1.0, (512, 1024, 2048), (64 * MIB, 256 * MIB), 0.5),
    ("cuda", True): Sizes(1024 * MIB, 8, 0.3, (1024, 2048), (256 * MIB,), 0.1),
    ("cuda", False): Sizes(None, 16, 2.0, (1024, 4096, 8192), (256 * MIB, 1024 * MIB), 0.5),
}


def sizes_for(device: torch.device, quick: bool) -> Sizes:
    return _SIZES[(device.type, quick)]


def select_device(requested: str) -> torch.device:
    """``auto`` picks the first CUDA device when there is one, else the CPU."""
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise NoDevice(f"CUDA was requested but this torch ({torch.__version__}) sees no CUDA device")
    return torch.device("cuda", torch.cuda.current_device())


def device_info(device: torch.device) -> dict:
    """The fields of the hello message: what was measured, with which software."""
    info = {
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "python_version": platform.python_version(),
        "device_type": device.type,
        "threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(device_name=props.name, total_memory_bytes=props.total_memory,
                    compute_capability=f"{props.major}.{props.minor}")
    else:
        info.update(device_name=_cpu_name(), total_memory_bytes=psutil.virtual_memory().total)
    return info


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(errors="replace"), re.MULTILINE)
        if match:
            return match.group(1).strip()
    return platform.processor() or platform.machine() or "CPU"


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA OOM, Python's MemoryError, or the CPU allocator's failure message."""
    return isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or "can't allocate memory" in str(exc)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def release(device: torch.device) -> None:
    """Give freed memory back: collect cycles, then empty CUDA's cache or trim the C heap."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
    else:
        process_memory.trim_heap()


class MemoryProbe:
    """Memory figures for metrics messages.

    CUDA: the caching allocator's own counters. CPU: torch keeps no counters, so
    ``allocated_bytes`` is what the phase says it holds (exact for our tensors) and
    ``reserved_bytes`` is the growth of process RSS since the probe was made.
    """

    def __init__(self, device: torch.device) -> None:
        self._device = device
        self._process = psutil.Process()
        self._baseline_rss_bytes = self._process.memory_info().rss

    def sample(self, held_bytes: int) -> dict:
        rss_bytes = self._process.memory_info().rss
        if self._device.type == "cuda":
            return {"allocated_bytes": torch.cuda.memory_allocated(self._device),
                    "reserved_bytes": torch.cuda.memory_reserved(self._device), "rss_bytes": rss_bytes}
        return {"allocated_bytes": held_bytes,
                "reserved_bytes": max(0, rss_bytes - self._baseline_rss_bytes), "rss_bytes": rss_bytes}


def time_per_call_s(fn: Callable[[], object], device: torch.device, min_timed_s: float) -> tuple[float, int]:
    """Mean seconds per call over a synchronized loop of at least ``min_timed_s``.

    Three warm-up calls, one calibration call to pick the iteration count, then one
    timed loop bracketed by device synchronization (no per-iteration sync).
    """
    for _ in range(3):
        fn()
    synchronize(device)
    start_s = time.perf_counter()
    fn()
    synchronize(device)
    one_call_s = max(time.perf_counter() - start_s, 1e-9)
    iterations = min(100_000, max(3, math.ceil(min_timed_s / one_call_s)))
    start_s = time.perf_counter()
    for _ in range(iterations):
        fn()
    synchronize(device)
    return (time.perf_counter() - start_s) / iterations, iterations


def run_memory_ramp(session: Session, device: torch.device, sizes: Sizes, probe: MemoryProbe,
                    mem_fraction: float) -> None:
    """Allocate in steps up to the budget, hold, then free step by step, reporting memory."""
    budget_bytes = _ramp_budget_bytes(device, mem_fraction, sizes.ramp_cap_bytes)
    chunk_bytes = budget_bytes // sizes.ramp_steps
    total = 2 * sizes.ramp_steps + 1
    held: list[torch.Tensor] = []
    peak = {"allocated_bytes": 0, "reserved_bytes": 0}

    def report(step: int) -> None:
        sample = probe.sample(sum(t.nbytes for t in held))
        for key in peak:
            peak[key] = max(peak[key], sample[key])
        session.metrics(**sample)
        session.progress("memory", step, total)

    for step in range(1, sizes.ramp_steps + 1):
        session.check_cancel()
        held.append(torch.empty(chunk_bytes, dtype=torch.uint8, device=device).fill_(1))  # touch every page
        synchronize(device)
        report(step)
    _sleep_cancellable(session, sizes.hold_s)
    report(sizes.ramp_steps + 1)
    while held:
        session.check_cancel()
        held.pop()
        release(device)
        report(total - len(held))
    session.result("memory", budget_bytes=budget_bytes, steps=sizes.ramp_steps,
                   peak_allocated_bytes=peak["allocated_bytes"], peak_reserved_bytes=peak["reserved_bytes"])


def _ramp_budget_bytes(device: torch.device, mem_fraction: float, cap_bytes: int | None) -> int:
    if device.type == "cuda":
        free_bytes, _total = torch.cuda.mem_get_info(device)
    else:
        free_bytes = psutil.virtual_memory().available
    budget_bytes = int(free_bytes * mem_fraction)
    return min(budget_bytes, cap_bytes) if cap_bytes is not None else budget_bytes


def _sleep_cancellable(session: Session, duration_s: float) -> None:
    if session.cancel.wait(duration_s):
        session.check_cancel()


def matmul_dtypes(device: torch.device) -> list[str]:
    """Dtypes worth timing here that actually run (probed with a tiny matmul).

    CPU: fp32 and bf16 (fp16 matmul on CPUs is an emulated crawl). CUDA: fp32, tf32
    from Ampere, bf16 where supported, fp16, fp8 from Ada/Hopper via torch._scaled_mm.
    """
    if device.type == "cpu":
        candidates = ["fp32", "bf16"]
    else:
        capability = torch.cuda.get_device_capability(device)
        candidates = ["fp32", *(["tf32"] if capability >= (8, 0) else []),
                      *(["bf16"] if torch.cuda.is_bf16_supported() else []), "fp16",
                      *(["fp8"] if capability >= (8, 9) and hasattr(torch, "_scaled_mm") else [])]
    return [name for name in candidates if _runs(name, device)]


def _runs(dtype_name: str, device: torch.device) -> bool:
    try:
        with _float32_precision(dtype_name):
            _matmul_call(dtype_name, 16, device)()
        synchronize(device)
    except (RuntimeError, TypeError, NotImplementedError) as exc:
        print(f"bench: skipping {dtype_name} matmul: {exc}", file=sys.stderr)
        return False
    return True


@contextlib.contextmanager
def _float32_precision(dtype_name: str) -> Iterator[None]:
    """TF32 is fp32 inputs with reduced-precision tensor-core math; off for plain fp32."""
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if dtype_name == "tf32" else "highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def _matmul_call(dtype_name: str, n: int, device: torch.device) -> Callable[[], torch.Tensor]:
    """A no-argument n×n×n matmul on fresh random inputs of the given dtype."""
    if dtype_name == "fp8":
        a = torch.randn(n, n, device=device).to(torch.float8_e4m3fn)
        b = torch.randn(n, n, device=device).to(torch.float8_e4m3fn).t().contiguous().t()  # column-major
        scale = torch.ones((), device=device)
        return lambda: torch._scaled_mm(a, b, scale_a=scale, scale_b=scale, out_dtype=torch.bfloat16)
    dtype = _TORCH_DTYPES[dtype_name]
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    return lambda: torch.matmul(a, b)


def measure_matmul(dtype_name: str, n: int, device: torch.device, min_timed_s: float) -> dict:
    """Achieved FLOP/s of an n×n×n matmul (2·n³ floating-point operations per call)."""
    with _float32_precision(dtype_name):
        duration_s, iterations = time_per_call_s(_matmul_call(dtype_name, n, device), device, min_timed_s)
    return {"dtype": dtype_name, "size": n, "flops_per_s": 2 * n**3 / duration_s,
            "duration_s": duration_s, "iterations": iterations}


def run_matmul(session: Session, device: torch.device, sizes: Sizes, probe: MemoryProbe) -> None:
    """Every dtype at every size, smallest first; a size whose one call would take longer than
    MAX_CALL_S at the rate the dtype reached one size down is left out (a CPU without bf16
    units multiplies bf16 at ~1 GFLOP/s: a 2048³ call would take a quarter of a minute, seven
    times over, with no sign of life)."""
    jobs = [(name, n) for name in matmul_dtypes(device) for n in sizes.matmul_sizes]
    rates: dict[str, float] = {}
    for step, (dtype_name, n) in enumerate(jobs, start=1):
        session.check_cancel()
        if dtype_name in rates and 2 * n**3 / rates[dtype_name] > MAX_CALL_S:
            print(f"bench: skipping {dtype_name} matmul at {n}: one call would take "
                  f"{2 * n**3 / rates[dtype_name]:.1f} s at {rates[dtype_name] / 1e9:.1f} GFLOP/s", file=sys.stderr)
        else:
            figures = measure_matmul(dtype_name, n, device, sizes.min_timed_s)
            rates[dtype_name] = figures["flops_per_s"]
            session.metrics(**probe.sample(held_bytes=3 * n * n * _itemsize(dtype_name)))
            session.result("matmul", **figures)
        session.progress("matmul", step, len(jobs))
        release(device)


def _itemsize(dtype_name: str) -> int:
    return 1 if dtype_name == "fp8" else _TORCH_DTYPES[dtype_name].itemsize


def run_bandwidth(session: Session, device: torch.device, sizes: Sizes, probe: MemoryProbe) -> None:
    """Device-to-device copy; each copy reads and writes the tensor, so bytes moved = 2 × size."""
    for step, tensor_bytes in enumerate(sizes.copy_bytes, start=1):
        session.check_cancel()
        src = torch.ones(tensor_bytes // 4, dtype=torch.float32, device=device)
        dst = torch.empty_like(src)
        duration_s, iterations = time_per_call_s(lambda src=src, dst=dst: dst.copy_(src), device, sizes.min_timed_s)
        session.metrics(**probe.sample(held_bytes=src.nbytes + dst.nbytes))
        session.result("bandwidth", tensor_bytes=src.nbytes, bytes_per_s=2 * src.nbytes / duration_s,
                       duration_s=duration_s, iterations=iterations)
        session.progress("bandwidth", step, len(sizes.copy_bytes))
        del src, dst
        release(device)


class _Block(nn.Module):
    """Pre-norm GPT block: causal self-attention and a 4× GELU MLP, with residuals."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln_attn = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)
        self.ln_mlp = nn.LayerNorm(hidden)
        self.mlp = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Linear(4 * hidden, hidden))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq_len, hidden = x.shape
        qkv = self.qkv(self.ln_attn(x)).view(batch, seq_len, 3, self.heads, hidden // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(attn.transpose(1, 2).reshape(batch, seq_len, hidden))
        return x + self.mlp(self.ln_mlp(x))


class TinyGpt(nn.Module):
    """Token and learned position embeddings, blocks, final norm, untied LM head."""

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(config.vocab, config.hidden)
        self.position_embedding = nn.Embedding(config.seq_len, config.hidden)
        self.blocks = nn.Sequential(*(_Block(config.hidden, config.heads) for _ in range(config.layers)))
        self.ln_final = nn.LayerNorm(config.hidden)
        self.lm_head = nn.Linear(config.hidden, config.vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.token_embedding(tokens) + self.position_embedding(positions)
        return self.lm_head(self.ln_final(self.blocks(x)))


def run_train_step(session: Session, device: torch.device, config: TrainConfig, steps: int = 2) -> None:
    """Run ``steps`` AdamW steps of a fresh model; report the last step's time and the peak memory.

    Peak memory covers everything the steps need (weights, gradients, AdamW moments,
    activations) because measuring starts before the model is built. A throw-away
    warm-up step runs first, so library code paths and thread pools paged in on first use
    do not count as the model's memory on a CPU. The model's dtype is ``config.dtype``
    throughout (no mixed precision); step 1 allocates gradients and optimizer state.
    """
    tokens = torch.randint(0, config.vocab, (config.batch, config.seq_len + 1), device=device)

    def before_step(step: int) -> None:
        session.check_cancel()
        session.progress("train", step, steps + 1)

    _train(config, tokens, device, 1, before_step)
    with PeakMemory(device) as peak:
        param_count, step_duration_s, loss = _train(config, tokens, device, steps,
                                                    lambda step: before_step(step + 1))
    session.result("train", config=config.as_dict(), param_count=param_count,
                   peak_memory_bytes=peak.peak_bytes, peak_memory_method=peak.method,
                   step_duration_s=step_duration_s, tokens_per_s=config.batch * config.seq_len / step_duration_s,
                   loss=loss)
    release(device)


def _train(config: TrainConfig, tokens: torch.Tensor, device: torch.device, steps: int,
           before_step: Callable[[int], None]) -> tuple[int, float, float]:
    """Build a model and train it; returns (parameter count, last step's seconds, last loss)."""
    model = TinyGpt(config).to(device=device, dtype=_TORCH_DTYPES[config.dtype])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for step in range(1, steps + 1):
        before_step(step)
        start_s = time.perf_counter()
        logits = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.float().reshape(-1, config.vocab), tokens[:, 1:].reshape(-1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        synchronize(device)
        step_duration_s = time.perf_counter() - start_s
    return sum(p.numel() for p in model.parameters()), step_duration_s, loss.item()


class PeakMemory:
    """Peak memory growth over a block of code.

    CUDA: ``torch.cuda.max_memory_allocated`` after a peak reset, minus what was allocated
    before: exact for tensors, excludes allocator caching and the CUDA context.
    CPU on Linux: the RSS high-water mark (see process_memory) minus RSS at the start,
    after malloc_trim so reused free heap pages cannot hide growth. It also counts
    library pages touched for the first time, oneDNN/MKL scratch and allocator slack, so
    it reads high for tiny models (the warm-up step in run_train_step removes most of that).
    Elsewhere: RSS growth measured at the end only, a lower bound (method says so).
    """

    def __init__(self, device: torch.device) -> None:
        self._device = device
        self._process = psutil.Process()
        self._start_bytes = 0
        self._high_water_reset = False
        self.peak_bytes = 0
        self.method = ""

    def __enter__(self) -> PeakMemory:
        release(self._device)
        if self._device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self._device)
            self._start_bytes = torch.cuda.memory_allocated(self._device)
        else:
            self._high_water_reset = process_memory.reset_rss_high_water()
            self._start_bytes = self._process.memory_info().rss
        return self

    def __exit__(self, *exc_info: object) -> None:
        synchronize(self._device)
        if self._device.type == "cuda":
            end_bytes, self.method = torch.cuda.max_memory_allocated(self._device), "cuda_max_memory_allocated"
        elif self._high_water_reset and (high_water_bytes := process_memory.rss_high_water_bytes()) is not None:
            end_bytes, self.method = high_water_bytes, "rss_high_water_delta"
        else:
            end_bytes, self.method = self._process.memory_info().rss, "rss_delta_at_end"
        self.peak_bytes = max(0, end_bytes - self._start_bytes)
