"""Sample apps the benchmarks host (each folder is a Functions app of its own)."""
