"""The longest event-loop stall while a user works the window (offscreen, real widgets).

Drives the window through edits, model changes, mode switches, tab switches, filter changes
and sorts, with the Compare tab open and then with the Plan tab open (from when the start-up's
last steps are done: the hidden tabs built, the plans' process asked for, pandas imported, as a user's first
click would come), and prints the longest time the event loop could not run (a 2 ms timer's
late arrival), per action. `--catalog-scale 10` repeats every instance
type ten times (a catalog 10× the bundled one). Beside each stall it prints the GUI thread's
own CPU time over the same gap: on a busy machine the wall-clock stall also counts time the
process waited for a core, the CPU time does not (it is what a quiet machine would see).

    .venv/bin/python benchmarks/ui_stalls.py [--catalog-scale N] [--rounds N]
"""

if __name__ == "__main__":  # not when a child process of the window re-runs this file (multiprocessing's spawn)
    from stall_session import main

    raise SystemExit(main())
