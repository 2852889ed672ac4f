"""
Live fulfillment metrics: the catalog, the computations, the two-tier cache
and the service that resolves and purges them. Nothing here imports `trust`.
"""
