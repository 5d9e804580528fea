"""How ikefleet reaches a router: the SSH transport below netmiko, the RouterOS driver and the Nornir
connection plugin `routeros` (ikefleet.connection.plugin)."""

CONNECTION_NAME = "routeros"  # the plugin's name in Nornir (entry point nornir.plugins.connections)
