"""How ikefleet reaches a router: the SSH transport below netmiko and the Nornir connection plugin."""
