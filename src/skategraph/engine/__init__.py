"""Where queries are evaluated so that they can be stopped: jobs, the worker process that answers
them, and the pool that kills a worker at its time limit.
"""
