"""The server: assembly, connection tracking, request hooks, and the stdio and HTTP transports."""
