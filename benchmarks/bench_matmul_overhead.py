"""Does the benchmark's matmul figure match a bare torch.matmul loop? (target: within 5 %)

Runs both on the same device, size, dtype and thread count, alternating over many short
rounds (and which goes first) so drift (turbo, other processes on a shared machine) hits
both alike. Prints the best of each and the median of the per-round differences; on a
busy machine trust the median, which one contended round cannot move.
Usage: python benchmarks/bench_matmul_overhead.py [--size 1024] [--dtype fp32] [--device cpu]
"""
import argparse
import statistics
import time

import torch

from gpuplanner.bench import kernels


def bare_loop_tflops(n: int, dtype: torch.dtype, device: torch.device, iterations: int) -> float:
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    for _ in range(3):
        torch.matmul(a, b)
    kernels.synchronize(device)
    start_s = time.perf_counter()
    for _ in range(iterations):
        torch.matmul(a, b)
    kernels.synchronize(device)
    return 2 * n**3 * iterations / (time.perf_counter() - start_s) / 1e12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--min-timed-s", type=float, default=0.3)
    args = parser.parse_args()
    device = kernels.select_device(args.device)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    bench_tflops, bare_tflops = [], []
    iterations = kernels.measure_matmul(args.dtype, args.size, device, args.min_timed_s)["iterations"]
    for round_index in range(args.rounds):
        # Alternate which one goes first, so neither always inherits a warm cache or clock.
        if round_index % 2:
            bare_tflops.append(bare_loop_tflops(args.size, dtype, device, iterations))
        bench_tflops.append(kernels.measure_matmul(args.dtype, args.size, device, args.min_timed_s)["flops_per_s"] / 1e12)
        if not round_index % 2:
            bare_tflops.append(bare_loop_tflops(args.size, dtype, device, iterations))
    bench, bare = max(bench_tflops), max(bare_tflops)
    paired_pct = statistics.median(100 * (x - y) / y for x, y in zip(bench_tflops, bare_tflops))
    print(f"device {device} ({kernels.device_info(device)['device_name']}), threads {torch.get_num_threads()}, "
          f"{args.dtype} {args.size}^3, {args.rounds} rounds")
    print(f"benchmark (best)           : {bench * 1e3:8.1f} GFLOP/s")
    print(f"bare loop (best)           : {bare * 1e3:8.1f} GFLOP/s")
    print(f"difference of bests        : {100 * (bench - bare) / bare:+8.2f} %")
    print(f"median per-round difference: {paired_pct:+8.2f} %")


if __name__ == "__main__":
    main()
