"""Images: image generation and image analysis; outputs kept in storage."""
