"""Audio: speech-to-text and text-to-speech."""
