"""Benchmark control: the child process, its results, the link to the live panel and the choice
of Python it runs under."""
