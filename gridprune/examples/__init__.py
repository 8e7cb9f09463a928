"""Examples of models other than wav2vec2 for gridprune."""
