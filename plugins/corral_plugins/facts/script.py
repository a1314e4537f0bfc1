"""The POSIX ``sh`` script ``setup`` runs on the host: one command, ``key=value`` lines out.

Everything is read from local files and commands (``ip route get`` looks a route
up, it sends nothing), so it works on hosts with no network. Each part tolerates
a missing tool: the parser leaves out what was not printed. The positional
arguments name the optional sections wanted (``hardware``, ``network``,
``virtual``) and, as ``python=PATH``, the host's ``ansible_python_interpreter``.
"""

from __future__ import annotations

# Paths whose existence decides pkg_mgr and service_mgr, as Ansible's collectors test them.
PROBED_PATHS = (
    "/usr/bin/rpm-ostree",
    "/run/ostree-booted",
    "/usr/bin/yum",
    "/usr/bin/dnf-3",
    "/usr/bin/dnf5",
    "/usr/bin/dnf",
    "/usr/bin/microdnf",
    "/usr/bin/apt-get",
    "/usr/bin/rpm",
    "/usr/bin/zypper",
    "/usr/sbin/urpmi",
    "/usr/bin/pacman",
    "/bin/opkg",
    "/usr/pkg/bin/pkgin",
    "/opt/local/bin/pkgin",
    "/opt/local/bin/port",
    "/usr/local/bin/brew",
    "/opt/homebrew/bin/brew",
    "/sbin/apk",
    "/usr/sbin/pkg",
    "/usr/bin/emerge",
    "/usr/bin/xbps-install",
    "/usr/local/sbin/pkg",
    "/usr/bin/swupd",
    "/run/systemd/system/",
    "/dev/.run/systemd/",
    "/dev/.systemd/",
    "/etc/init/",
    "/sbin/openrc",
    "/etc/init.d/",
    "/etc/dinit.d/",
    "/sys/fs/selinux/enforce",
    "/sys/kernel/security/apparmor",
    "/.dockerenv",
    "/run/.containerenv",
)

SETUP_SCRIPT = (
    r"""wanted=" $* "
want() { case "$wanted" in *" $1 "*) return 0;; esac; return 1; }
# Sets variable $1 to the first line of file $2 (empty when it cannot be read). A builtin,
# not $(cat ...): a process per file made gathering slow (a hundred files in /sys).
rd() { eval "$1="; [ -r "$2" ] && IFS= read -r "$1" < "$2" 2>/dev/null; return 0; }
# The environment first, before this script changes it; newlines and backslashes escaped.
awk 'BEGIN { for (k in ENVIRON) { v = ENVIRON[k]; gsub(/\\/, "\\\\", v); gsub(/\n/, "\\n", v)
  print "env." k "=" v } }' </dev/null 2>/dev/null
LC_ALL=C; export LC_ALL
if [ -r /proc/sys/kernel/ostype ]; then
  rd system /proc/sys/kernel/ostype; rd kernel /proc/sys/kernel/osrelease
  rd kernel_version /proc/sys/kernel/version; rd nodename /proc/sys/kernel/hostname
else
  system=$(uname -s) kernel=$(uname -r) kernel_version=$(uname -v) nodename=$(uname -n)
fi
echo "system=$system"
echo "kernel=$kernel"
echo "kernel_version=$kernel_version"
echo "machine=$(uname -m)"
echo "nodename=$nodename"
echo "date=$(date '+%Y %m %d %H %M %S %s %Z %z %A %w %W %N')"
for f in /etc/os-release /usr/lib/os-release; do
  if [ -r "$f" ]; then sed -n 's/^\([A-Z_]*\)=/os_release.\1=/p' "$f"; break; fi
done
if [ -r /etc/debian_version ]; then rd v /etc/debian_version; echo "debian_version=$v"; fi
if command -v sw_vers >/dev/null 2>&1; then echo "macos_version=$(sw_vers -productVersion)"; fi
# lsb_release reads os-release (and is slow to start): the controller derives its answer.
if command -v lsb_release >/dev/null 2>&1; then echo "lsb.available=1"
elif [ -r /etc/lsb-release ]; then sed -n 's/^DISTRIB_\([A-Z_]*\)=/lsb_file.\1=/p' /etc/lsb-release
fi
# The host's ansible_python_interpreter, when the inventory names one ("python=PATH").
interpreter=
for a in "$@"; do case "$a" in python=*) interpreter=${a#python=};; esac; done
for py in "$interpreter" /usr/bin/python3 /usr/local/bin/python3 python3 /usr/bin/python python; do
  if [ -n "$py" ] && command -v "$py" >/dev/null 2>&1; then
    "$py" -c 'import importlib.util, socket, sys, time
print("python.executable=" + sys.executable)
print("python.version=%d.%d.%d.%s.%d" % tuple(sys.version_info))
print("python.type=" + sys.implementation.name)
print("python.fqdn=" + socket.getfqdn())
print("tz_dst=" + time.tzname[1])
print("python.ssl=%d" % bool(importlib.util.find_spec("ssl")))
print("python.selinux=%d" % bool(importlib.util.find_spec("selinux")))' 2>/dev/null &&
      py_done=1 && break
  fi
done
# Python's socket.getfqdn() gave the FQDN as Ansible reports it; without Python, hostname -f.
if [ -z "$py_done" ]; then
  if command -v timeout >/dev/null 2>&1; then fqdn=$(timeout 2 hostname -f 2>/dev/null)
  else fqdn=$(hostname -f 2>/dev/null); fi
  echo "fqdn=$fqdn"
fi
# Linux: real and effective ids from /proc (this shell's are its children's); else id(1).
uid= ruid=
if [ -r "/proc/$$/status" ]; then
  while read -r key real effective _; do
    case "$key" in Uid:) ruid=$real uid=$effective;; Gid:) rgid=$real gid=$effective;; esac
  done < "/proc/$$/status"
fi
if [ -z "$uid" ]; then uid=$(id -u) gid=$(id -g) ruid=$(id -ru) rgid=$(id -rg); fi
pw=$(getent passwd "$uid" 2>/dev/null) ||
  pw=$(awk -F: -v u="$uid" '$3 == u' /etc/passwd 2>/dev/null)
if [ -n "$pw" ]; then echo "user.id=${pw%%:*}"; else echo "user.id=$(id -un 2>/dev/null)"; fi
echo "user.uid=$uid"
echo "user.gid=$gid"
echo "user.ruid=$ruid"
echo "user.rgid=$rgid"
echo "user.passwd=$pw"
for p in """
    + " ".join(PROBED_PATHS)
    + r"""; do
  if [ -e "$p" ]; then echo "exists=$p"; fi
done
if [ -e /usr/bin/dnf ]; then echo "dnf_target=$(readlink -f /usr/bin/dnf 2>/dev/null)"; fi
if [ -r /proc/1/comm ]; then rd v /proc/1/comm; echo "proc1=$v"; fi
if [ -L /sbin/init ]; then echo "sbin_init=$(readlink /sbin/init)"; fi
for t in systemctl initctl getenforce; do
  if command -v "$t" >/dev/null 2>&1; then echo "tool=$t"; fi
done
if [ -r /sys/fs/selinux/enforce ]; then
  rd v /sys/fs/selinux/enforce; echo "selinux.enforce=$v"
  rd v /sys/fs/selinux/policyvers; echo "selinux.policyvers=$v"
  sed -n 's/^\(SELINUX[A-Z]*\)=/selinux.\1=/p' /etc/selinux/config 2>/dev/null
fi
if [ -r /etc/resolv.conf ]; then
  sed -n 's/^[[:space:]]*\([a-z]*\)[[:space:]]/dns.\1=/p' /etc/resolv.conf
fi
if [ -r /etc/machine-id ]; then rd v /etc/machine-id; echo "machine_id=$v"; fi
if want hardware; then
  if [ -r /proc/cpuinfo ]; then
    awk 'function after(line) { sub(/^[^:]*:/, "", line); sub(/:.*/, "", line); return line }
      /^processor/ { processors++ }
      /^physical id/ && !($0 in socket) { socket[$0] = 1; sockets++ }
      /^cpu cores/ && !got_cores { cores = after($0); got_cores = 1 }
      /^siblings/ && !got_siblings { siblings = after($0); got_siblings = 1 }
      /^(processor|vendor_id|model name|cpu model|Processor)[ \t]*:/ {
        v = substr($0, index($0, ":") + 1); sub(/^[ \t]+/, "", v); print "cpuinfo=" v }
      END { print "cpu.processors=" processors + 0; print "cpu.sockets=" sockets + 0
        print "cpu.cores=" cores; print "cpu.siblings=" siblings }' /proc/cpuinfo
  fi
  echo "cpu.online=$(getconf _NPROCESSORS_ONLN 2>/dev/null)"
  if command -v nproc >/dev/null 2>&1; then echo "cpu.nproc=$(nproc)"; fi
  if [ -r /proc/meminfo ]; then
    awk '/^(Mem|Swap)(Total|Free):|^(Buffers|Cached|SwapCached):/ {
      sub(":", "", $1); print "mem." $1 "=" $2 }' /proc/meminfo
  fi
  if [ -r /proc/uptime ]; then read -r up _ < /proc/uptime; echo "uptime=$up"; fi
  if [ -r /proc/loadavg ]; then read -r l1 l5 l15 _ < /proc/loadavg; echo "loadavg=$l1 $l5 $l15"; fi
  if [ -r /proc/mounts ]; then
    while read -r dev mnt fstype opts dump pass; do
      case "$dev" in /*|*:/*) ;; *) continue;; esac
      [ "$fstype" = none ] && continue
      if command -v timeout >/dev/null 2>&1; then
        st=$(timeout 2 stat -f -c '%S %s %b %f %a %c %d' "$mnt" 2>/dev/null)
      else st=$(stat -f -c '%S %s %b %f %a %c %d' "$mnt" 2>/dev/null); fi
      echo "mount=$dev $mnt $fstype $opts $dump $pass $st"
    done < /proc/mounts
  fi
  if [ -d /sys/block ]; then
    for d in /sys/block/*; do
      [ -e "$d/size" ] || continue
      n=${d##*/}
      rd size "$d/size"; rd removable "$d/removable"; rd rotational "$d/queue/rotational"
      rd block "$d/queue/logical_block_size"
      echo "blk=$n ${size:--} ${removable:--} ${rotational:--} ${block:--}"
      [ -r "$d/device/model" ] && rd v "$d/device/model" && echo "blk.model=$n $v"
      [ -r "$d/device/vendor" ] && rd v "$d/device/vendor" && echo "blk.vendor=$n $v"
      for part in "$d/$n"*; do
        [ -e "$part/start" ] || continue
        rd size "$part/size"; rd start "$part/start"
        echo "blk.part=$n ${part##*/} ${size:--} ${start:--}"
      done
      [ -e "$d/device" ] || echo "blk.virtual=$n"
    done
  fi
fi
if want network; then
  if command -v ip >/dev/null 2>&1; then
    ip -4 route get 8.8.8.8 2>/dev/null | sed -n '1s/^/route.get4=/p'
    ip -6 route get 2404:6800:400a:800::1012 2>/dev/null | sed -n '1s/^/route.get6=/p'
    ip -o addr show 2>/dev/null | sed 's/^/addr=/'
  elif [ -r /proc/net/route ]; then
    awk '$2 == "00000000" { print "route.proc=" $1 " " $3; exit }' /proc/net/route
  fi
  for d in /sys/class/net/*; do
    [ -e "$d/type" ] || continue
    pci=-; [ -L "$d/device" ] && pci=$(readlink "$d/device") && pci=${pci##*/}
    rd type "$d/type"; rd mtu "$d/mtu"; rd state "$d/operstate"; rd flags "$d/flags"
    rd speed "$d/speed"; rd address "$d/address"
    echo "netdev=${d##*/} ${type:--} ${mtu:--} ${state:--} ${flags:--} ${speed:--} ${pci:--}" \
      "${address:--}"
  done
fi
if want virtual; then
  if [ -r /proc/1/cgroup ]; then sed -n 's/^/cgroup=/p' /proc/1/cgroup | head -n 5; fi
  if [ -e /.dockerenv ] || [ -e /run/.containerenv ]; then :
  elif command -v systemd-detect-virt >/dev/null 2>&1; then
    echo "virt=$(systemd-detect-virt 2>/dev/null)"
  fi
fi
exit 0
"""
)
