"""A stand-in for the benchmark child that misbehaves on demand (first argument = mode).

Writes protocol lines by hand (not through gpuplanner.bench.protocol), so runner tests
also check that the runner reads the wire format as documented. Extra arguments (the
real benchmark's flags) are ignored. Speaks protocol version 2 (canonical units).
"""
import json
import os
import signal
import sys
import threading
import time

VERSION = 2


def send(type_, **fields):
    sys.stdout.write(json.dumps({"type": type_, "v": VERSION, **fields}) + "\n")
    sys.stdout.flush()


def hello():
    send("hello", device_type="cpu", device_name="fake", threads=1, torch_version="0")


def fail(kind, message):
    send("error", kind=kind, message=message)
    send("done", ok=False)
    sys.exit(1)


def wait_for_cancel(timeout_s):
    """Returns True when the parent sent cancel or closed stdin."""
    cancelled = threading.Event()

    def read():
        for line in sys.stdin:
            if '"cancel"' in line:
                break
        cancelled.set()

    threading.Thread(target=read, daemon=True).start()
    deadline_s = time.monotonic() + timeout_s
    step = 0
    while time.monotonic() < deadline_s:
        step += 1
        send("progress", phase="matmul", step=step, total=1000)
        if cancelled.wait(0.05):
            return True
    return False


def main(mode):
    if mode == "garbage":
        print("Traceback? no: just noise")
        print("{not json")
        print('{"type": "hello"}')  # no version: rejected too
        return
    if mode == "no_torch":
        fail("no_torch", "torch is not installed: pip install 'gpuplanner[bench]'")
    hello()
    if mode == "ok":
        send("brand_new_type", payload=1)
        print("stray print from a library")
        send("progress", phase="matmul", step=1, total=1)
        send("metrics", timestamp_s=0.5, allocated_bytes=2**33, reserved_bytes=2**34)
        send("result", phase="matmul", dtype="fp32", size=64, flops_per_s=1e11, duration_s=0.001, iterations=3)
        sys.stdout.write(json.dumps({"type": "done", "v": VERSION, "ok": True}))  # last line without newline
    elif mode == "crash":
        send("progress", phase="memory", step=1, total=4)
        os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "exit3":
        print("fake child: something went badly wrong", file=sys.stderr)
        sys.exit(3)
    elif mode == "hang":
        time.sleep(60)
    elif mode == "oom":
        fail("oom", "CUDA out of memory. Tried to allocate 2.00 GiB")
    elif mode == "cancel":
        if wait_for_cancel(timeout_s=30):
            fail("cancelled", "the benchmark was cancelled")
    elif mode == "old_version":  # a child of another gpuplanner version: a result field renamed
        send("result", phase="matmul", dtype="fp32", n=64, flops_per_s=1e11)
        send("result", phase="bandwidth", tensor_bytes=2**20, bytes_per_s=3e9)
        send("done", ok=True)
    elif mode == "spawn":  # starts a worker of its own, reports its PID, ignores cancel
        import subprocess
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        send("progress", phase=f"worker {worker.pid}", step=1, total=1)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(60)
    elif mode == "ignore_cancel":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(60)


if __name__ == "__main__":
    main(sys.argv[1])
