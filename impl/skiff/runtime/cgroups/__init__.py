"""Container cgroups: ``protocol.Cgroups``, ``v1.V1Cgroups`` (cgroupfs) and ``fake.FakeCgroups``."""
