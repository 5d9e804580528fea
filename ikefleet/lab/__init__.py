"""The built-in RouterOS lab: simulated routers over real SSH."""
