"""The demo model and example dataset shipped with gridprune, and the code that makes them.

No model hub is reachable from every machine gridprune runs on, so it ships a small
wav2vec2 CTC model trained from scratch on espeak-ng speech (`gridprune.demo.train`)
and example datasets in the `.hrl` format (`gridprune.demo.make_dataset`).
"""
