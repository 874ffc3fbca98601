"""Misleading CLI output (issue 14, defect 8): a plan that does not fit never prints 'nan', and
options that contradict each other are refused naming both instead of one being ignored."""
from __future__ import annotations

import re

import pytest

from gpuplanner.cli import main

NAN = re.compile(r"\bnan\b", re.IGNORECASE)


@pytest.mark.parametrize("args", [
    ["--model", "llama-3.1-405b", "--instance", "g5.xlarge"],  # training that does not fit
    ["--model", "llama-3.1-405b", "--instance", "g5.xlarge", "--mode", "infer"],  # no fp16 peak: unknown speed
])
def test_a_plan_without_an_answer_prints_na_never_nan(capsys, args):
    assert main(["plan", *args]) == 0
    out = capsys.readouterr().out
    assert not NAN.search(out), out
    assert "n/a GPU-hours" in out or "speed, replicas and cost unknown" in out


@pytest.mark.parametrize("args, names", [
    (["--gpu", "T4", "--instance", "p5.48xlarge"], ["--gpu T4", "--instance p5.48xlarge", "8 × H100"]),
    (["--gpu", "H100", "--instance", "x9.huge"], ["--gpu H100", "--instance x9.huge", "not in the catalog"]),
    (["--model", "llama-2-13b", "--params", "7B"], ["--model llama-2-13b", "--params 7B"]),
])
def test_conflicting_options_are_refused_naming_both(capsys, args, names):
    assert main(["plan", *args]) == 2
    err = capsys.readouterr().err
    assert all(name in err for name in names), err
    assert len(err.strip().splitlines()) == 1


def test_consistent_gpu_and_instance_are_accepted(capsys):
    assert main(["plan", "--gpu", "H100", "--instance", "p5.48xlarge", "--format", "json"]) == 0
    assert '"instance_type": "p5.48xlarge"' in capsys.readouterr().out
