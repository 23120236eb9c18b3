"""SSH CLI collector (netmiko + TextFSM/ntc-templates) for devices with neither SNMP nor NETCONF.

Show commands per platform and how their parsed columns become sample fields
are YAML data in ``platforms/``. Sessions are kept per device; logins are
limited so a slow SSH login never stalls the poller; output that does not
parse is kept raw for the operator.
"""
