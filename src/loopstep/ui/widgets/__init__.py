"""One widget per file. Every pane has ``show(view)`` and redraws only when its part changed."""
