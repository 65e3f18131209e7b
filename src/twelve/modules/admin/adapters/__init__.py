"""The admin module's adapters: where the admin key comes from."""
