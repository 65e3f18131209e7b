"""End-to-end tests: `twelve serve` as a real process, driven by real clients."""
