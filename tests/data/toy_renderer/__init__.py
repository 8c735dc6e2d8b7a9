"""A toy renderer: one package and nothing else, for tests/test_toy_renderer.py. It joins
the registry through OCR2SYNTH_RENDERERS=tests/data/toy_renderer."""
