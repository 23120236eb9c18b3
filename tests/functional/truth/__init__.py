"""Ground-truth harness: is every message a command post gets true and on time?

Written independently of ``lab/`` (its own network shapes, agents and fault
schedules): it builds small networks in the documented inventory format,
serves every device from its own snmpsim process on 127.0.0.1 (so each can be
frozen, killed or have its mains cut on its own), runs the real
``trucban run --inventory`` as a subprocess against a real SMTP server, drives a
seeded random fault schedule and compares every e-mail each command post
receives with the schedule's ground truth.

Modules:

- :mod:`~tests.functional.truth.world`     network shapes, inventory + credentials YAML
- :mod:`~tests.functional.truth.agents`    per-device snmpsim agents (data files, freeze/kill/mains)
- :mod:`~tests.functional.truth.schedule`  seeded fault schedules (episodes per commune and city)
- :mod:`~tests.functional.truth.peers`     the SMTP sink and the Trucban service subprocess
- :mod:`~tests.functional.truth.checker`   the judge; its docstring defines every tolerance
- :mod:`~tests.functional.truth.harness`   one run end to end (used by the test and ``bench.truth``)
- :mod:`~tests.functional.truth.fixtures`  pytest fixtures

Nothing heavy is imported here: ``responder.py`` is started as a script.
"""
