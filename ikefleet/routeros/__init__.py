"""RouterOS configuration model shared by the lab and the diff engine."""
