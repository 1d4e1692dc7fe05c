"""Running Skiff's processes on one machine, for the `skiff` command, tests, benchmarks and
scripts alike (so that all of them start things the same way).

* `skiffharness.processes`: wait for a condition with a deadline, free loopback ports, a
  throw-away etcd, dockerd started when no engine answers;
* `skiffharness.images`: busybox images built FROM scratch, with no pull from anywhere;
* `skiffharness.stack`: the single-machine stack behind `skiff up` / `skiff down` and the
  supervisor that keeps its processes running.

It runs the components as processes (`python -m skiff.cli ...`) and never imports the `skiff`
package, which stays the composition root that nothing imports. Example::

    from skiffharness.processes import EtcdProcess, wait_until

    etcd = EtcdProcess(tmp / "etcd").start()
"""
