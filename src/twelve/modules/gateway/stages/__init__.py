"""Admission stages of the request pipeline, in the order they run (see `pipeline.py`)."""
