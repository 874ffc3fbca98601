"""``python -m gpuplanner.bench``: run the benchmark child (see gpuplanner.bench.child)."""
from gpuplanner.bench.child import main

raise SystemExit(main())
