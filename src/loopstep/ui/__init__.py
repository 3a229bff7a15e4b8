"""The Textual app: a step-through debugger for the training loop.

Screens coordinate, widgets render; the engine reports through callbacks that the app turns
into messages. Nothing here runs a command line, installs a signal handler or decides an
exit status: the front-end runner (``loopstep.frontend``) opens the app and does those.
"""
