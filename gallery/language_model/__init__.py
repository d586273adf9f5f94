"""Character-level language model: training, sampling and neuron pictures."""
