"""Screens shown over the debugger: help and the quick check."""
