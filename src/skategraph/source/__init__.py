"""Where the graph comes from: season article text, read into plain records, and the link files.

Parsing is pure (text in, frozen dataclasses out; errors name the source line). Imports nothing of
skategraph but `errors` and `resources`: this is the bottom of the pipeline.
"""
