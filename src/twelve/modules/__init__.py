"""The twelve modules. Each is imported by the others only through its `api.py`."""
