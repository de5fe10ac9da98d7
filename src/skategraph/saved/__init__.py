"""Saved queries: the `.rq` files and their `#+` headers, parameter types, binding, and preparing a
run as a job the engine evaluates, the same for the CLI and the web.
"""
