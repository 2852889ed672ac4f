"""
Benchmarks of the metric computations and the storefront API
(`python -m benchmarks.run`, or `make bench`); the results go to
docs/benchmarks.md.
"""
