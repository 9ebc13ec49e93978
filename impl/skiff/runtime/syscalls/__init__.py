"""The kernel edge: ``protocol.Syscalls``, ``linux.LinuxSyscalls`` (ctypes) and a recording fake."""
