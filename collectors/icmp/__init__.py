"""ICMP reachability collector (icmplib): RTT and loss for every device with an address.

Unprivileged ICMP sockets are used where the OS allows them
(``net.ipv4.ping_group_range``); otherwise raw sockets, which need root or
CAP_NET_RAW. The cheapest and most frequent check.
"""
