"""The benchmarks behind `benchmarks/RESULTS.md`, driven by the scripts in `scripts/bench_*.py`: interleaved
timing, the hand-written baseline loop, peak-memory measurement and the shared results file. Not part of the
installed `litlab` package: they run from a checkout, and build every run through `litlab`'s own CLI parser."""
