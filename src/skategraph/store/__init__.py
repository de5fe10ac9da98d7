"""Where the graph is kept: the store boundary, the embedded on-disk store and its generations,
builds, changes, statistics and validation.

Only this package opens or writes a store. A build or change writes a new generation beside the one
in place and swaps it in atomically, so a failure never harms the store that is serving.
"""
