"""The built-in algorithms; importing this package registers them."""
