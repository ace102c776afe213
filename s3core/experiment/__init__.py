"""Policy experiments: paired arms of one scenario over many seeds, with effects and their intervals."""
