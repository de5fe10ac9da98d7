"""skategraph: ISU Short Track Speed Skating World Cup results as a knowledge graph.

The public surface is small: parse season articles (`skategraph.parse`), turn them into RDF
(`skategraph.rdf`), build and open stores (`skategraph.store`). The CLI and the web app are shells
around these.
"""

__version__ = "0.1.0"
