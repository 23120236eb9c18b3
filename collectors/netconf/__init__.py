"""NETCONF collector (ncclient): ietf-interfaces, ietf-hardware and ietf-alarms as samples.

Filters per vendor are YAML data in ``vendors/``; capabilities are read at
connect and a filter whose module the device does not announce is skipped.
One session per device is kept between polls and re-established on failure.
"""
