"""Where the graph is made: IRIs and identity, the vocabulary, and records turned into quads.

Owns the shape of the data, not where it is kept: it builds on `skategraph.source` and knows
nothing of stores, SPARQL or the shells.
"""
