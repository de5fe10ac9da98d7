"""Linking our resources to others: names compared as people write them, candidates scored, links
discovered through a remote SPARQL endpoint, and reconciliation of other people's names.
"""
