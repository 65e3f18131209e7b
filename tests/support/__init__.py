"""Test support shared by every suite: validation against OpenAI's published API schemas."""
