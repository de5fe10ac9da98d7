"""The web shell: a Flask app that speaks the SPARQL 1.1 Protocol, the Graph Store Protocol, saved
queries, linked data, reconciliation and pages for people (`skategraph.web.app.create_app`).

Knows about HTTP and nothing about RDF modelling: each view translates a request into a call on the
core (through `skategraph.web.service`) and the answer into a response.
"""
