"""`python -m gpuplanner`: the desktop planner (see gpuplanner.app; the frozen bundle's hidden
benchmark flag is dispatched there before Qt is imported)."""
from gpuplanner.app import main

raise SystemExit(main())
