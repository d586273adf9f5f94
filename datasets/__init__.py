"""Data families for the gallery: each module returns a small bundle of splits plus vocabulary or labels.

Nothing here knows about models. Sources are embedded or generated offline by default; real data is read from
paths the user names, and `tfds:` sources only when asked for.

Note: this top-level package shadows Hugging Face's `datasets`; install the gallery in its own environment.
"""
