"""raidcorpus: an annotated corpus of counter-terrorism raids and terrorist attacks, and its workflow."""

__version__ = "0.1.0"
