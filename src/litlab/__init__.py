"""litlab: a PyTorch Lightning research template that is complete, fast and honest about its numbers."""

__version__ = "0.1.0"
