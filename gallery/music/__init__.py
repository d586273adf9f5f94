"""Polyphonic music: piano-roll modelling with a recurrent network and composition from a primer."""
