"""`python -m benchmarks`: run every benchmark, print the table, write docs/BENCHMARKS.md."""

from benchmarks.run import main

raise SystemExit(main())
