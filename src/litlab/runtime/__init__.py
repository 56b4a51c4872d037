"""The process a run lives in: memory allocator, CPU precision check, the distributed strategy."""
