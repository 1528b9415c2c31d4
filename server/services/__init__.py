"""Services: domain operations of the server that take a session and plain values."""
