"""skiff-containerd: Skiff's core daemon (containerd's role), served over gRPC (``api/core.proto``).

Composition (``main.py``): a content store (``content/``) and a snapshotter (``snapshots/``) hold the data;
``metadata/`` records images, containers and unpacked layers in SQLite; ``images/`` imports, loads, unpacks
(``diff/``) and deletes images, with ``gc.py`` collecting what nothing refers to; ``containers.py`` gives each
container a writable snapshot; ``tasks/`` runs them through one ``skiff-shim`` each; ``events.py`` fans out
what happened; ``server.py`` is the gRPC face and ``client.py`` the typed client skiffd uses.
"""
