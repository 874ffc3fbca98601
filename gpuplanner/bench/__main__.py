"""``python -m gpuplanner.bench``: run the benchmark child (see gpuplanner.bench.child), or with
``--collectives``, under torchrun, the collective benchmark (see gpuplanner.bench.collectives)."""
import sys

if "--collectives" in sys.argv[1:]:
    from gpuplanner.bench.collectives import main as collectives_main

    raise SystemExit(collectives_main(sys.argv[1:]))
from gpuplanner.bench.child import main

raise SystemExit(main())
