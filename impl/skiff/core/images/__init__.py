"""skiff-containerd: images."""
