"""DNS probe collector (dnspython): SOA/NS/A/AAAA over UDP and TCP, IPv4 and IPv6, per server.

Measures latency and answer codes per probe, compares the SOA serial across
the servers of a zone (a stale secondary shows as ``dns_zone.stale``), and
gives an IPv6-readiness view per server. Default questions are YAML data
(``queries.yaml``); a device's ``dns.queries`` replace them.
"""
