"""Map geometry for the dashboard: the shipped province outline and approximate commune areas.

``api/static/map-vn.json`` holds Vietnam's 34 provinces (2025 structure) and the
neighbouring countries' land, simplified from Natural Earth 1:10m (public
domain) by :mod:`api.geo.build`; :mod:`api.geo.areas` reads it and cuts each
province into approximate commune areas around the official commune points.
"""
