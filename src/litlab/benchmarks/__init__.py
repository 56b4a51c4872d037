"""Reusable pieces of the benchmark scripts in `scripts/`: interleaved timing, the hand-written baseline loop,
peak-memory measurement and the shared results file (`benchmarks/RESULTS.md`)."""
