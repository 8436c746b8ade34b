"""localtrack: a local-first, file-based ML experiment tracker."""

__version__ = "0.1.0"
