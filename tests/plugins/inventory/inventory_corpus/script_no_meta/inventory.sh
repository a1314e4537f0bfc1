#!/bin/sh
# No _meta: host variables come from one --host call per host.
case "$1" in
  --list)
    echo '{"app": {"hosts": ["app1", "app2"], "vars": {"tier": "app"}}, "all": {"vars": {"site": "lab"}}}'
    ;;
  --host)
    case "$2" in
      app1) echo '{"ansible_host": "198.51.100.1", "slot": 1}' ;;
      *) echo '' ;;
    esac
    ;;
  *) exit 2 ;;
esac
