"""Question answering on bAbI-style stories (many-to-one, story + question): see app.py and README.md."""
