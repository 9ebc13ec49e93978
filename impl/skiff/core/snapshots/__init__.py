"""skiff-containerd: snapshots."""
