"""The tools (ARCHITECTURE.md, "Layers"): the `ocr2synth` command line, the bench, the soak
run, the preview gallery and publishing. They drive the core and read the format."""
