"""skategraph: ISU Short Track Speed Skating World Cup results as a knowledge graph.

The packages follow the pipeline: `source` (article text to records) -> `graph` (records to RDF)
-> `sparql` (the query language and formats) -> `store` (builds, the embedded store) -> `engine`
(killable evaluation), `saved` (saved queries) and `linking` (Wikidata, DBpedia, reconciliation) ->
the shells, `web` and `cli`. Each imports only from the ones before it.
"""

__version__ = "0.1.0"
