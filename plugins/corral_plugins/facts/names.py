"""Every fact ``setup`` may set, for the pre-run check of undefined variables.

Plain names, without the ``ansible_`` prefix; the patterns stand for the
per-interface facts (``ansible_eth0``), whose names depend on the host.
"""

from __future__ import annotations

__all__ = ["FACT_NAMES", "INTERFACE_PATTERNS"]

INTERFACE_PATTERNS = (
    "lo", "eth*", "en*", "em*", "wl*", "ww*", "ib*", "bond*", "br*", "team*", "vlan*",
    "docker*", "veth*", "virbr*", "vnet*", "tun*", "tap*", "wg*", "tailscale*", "cni*",
    "flannel*", "cali*", "vxlan*", "podman*", "lxc*", "lxd*", "ovs*", "ifb*", "dummy*", "p[0-9]*",
)  # fmt: skip

FACT_NAMES = (
    # platform and distribution
    "system", "kernel", "kernel_version", "machine", "architecture", "nodename", "hostname",
    "fqdn", "domain", "distribution", "distribution_version", "distribution_major_version",
    "distribution_release", "os_family", "machine_id", "lsb",
    # python and user
    "python", "python_version", "user_id", "user_uid", "user_gid", "user_gecos", "user_dir",
    "user_shell", "real_user_id", "effective_user_id", "real_group_id", "effective_group_id",
    # system
    "date_time", "env", "pkg_mgr", "service_mgr", "selinux", "selinux_python_present",
    "apparmor", "dns",
    # hardware
    "processor", "processor_vcpus", "processor_count", "processor_cores", "processor_nproc",
    "processor_threads_per_core", "memtotal_mb", "memfree_mb", "swaptotal_mb", "swapfree_mb",
    "memory_mb", "uptime_seconds", "loadavg", "mounts", "devices",
    # network
    "interfaces", "default_ipv4", "default_ipv6", "all_ipv4_addresses", "all_ipv6_addresses",
    # virtual
    "virtualization_type", "virtualization_role",
    "gather_subset", "module_setup",
    *INTERFACE_PATTERNS,
)  # fmt: skip
