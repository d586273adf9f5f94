"""Image captioning: a CNN encoder and an RNN decoder describe scenes of coloured shapes (one-to-many)."""
