"""The SPARQL language as skategraph handles it outside the engine: what a query text says before it
is evaluated (its dataset, the URLs it would fetch), the result and RDF formats, and the writers of
SELECT results.
"""
