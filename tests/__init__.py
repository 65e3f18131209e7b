"""Twelve's tests: mirrors of `src/` under `modules/`, plus contract, e2e and service suites."""
