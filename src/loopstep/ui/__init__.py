"""The Textual app: a step-through debugger for the training loop.

Only ``launch`` is imported by the command line; it imports Textual lazily so that
``loopstep --help`` stays fast.
"""
