//! Help texts: the long description and each subcommand's examples.

pub const LONG_ABOUT: &str = "\
Container networking with CNI.

twill runs CNI plugin chains the way container runtimes do: it reads network configurations
(NETCONFPATH, default /etc/cni/net.d), finds plugins (CNI_PATH, default /opt/cni/bin) and keeps
libcni's attachment cache (/var/lib/cni), so what twill attached a runtime can detach and the
other way round.

`add`, `check`, `del`, `gc` and `status` are cnitool's verbs, with its arguments and
environment. `run` starts a command in a fresh network namespace; `net` manages configurations;
`ls` shows live attachments; `gc` releases what crashed containers left behind.";

pub const TOP_EXAMPLES: &str = "\
Examples:
  twill run -- ip addr                    # a fresh namespace on the default network
  twill net create web --subnet 10.89.7.0/24
  twill run --net web --name api -- ./server
  twill add web /run/netns/pod1           # what cnitool add does
  twill ls                                # live attachments and their addresses
  twill gc                                # release what crashed pods leaked

Environment: NETCONFPATH and CNI_PATH (`:`-separated lists), CNI_IFNAME, CNI_ARGS and
CAP_ARGS as cnitool reads them; TWILL_CACHE_DIR, TWILL_STATE_DIR, TWILL_NETNS_DIR.";

pub const ADD: &str = "\
Runs the network's plugins in order (ADD), caches the result and prints it.
Without --container-id the ID is cnitool's: \"cnitool-\" and the first 20 hex digits of the
SHA-512 of the namespace's absolute path, so twill and cnitool name an attachment alike.

Examples:
  ip netns add pod1
  twill add mynet /run/netns/pod1
  twill add mynet pod1 -i eth1                 # a name is looked up in /run/netns
  CAP_ARGS='{\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\"}]}' \\
    twill add mynet /run/netns/pod1";

pub const CHECK: &str = "\
Runs CHECK on every plugin with the cached result of the ADD; prints nothing when all is well.

Examples:
  twill check mynet /run/netns/pod1
  twill check mynet /run/netns/pod1 --container-id c0ffee -i eth1";

pub const DEL: &str = "\
Runs the plugins in reverse (DEL) with the cached result and arguments, then drops the cache
entry. Succeeds when the namespace is already gone, and when repeated.

Examples:
  twill del mynet /run/netns/pod1
  twill del mynet /run/netns/pod1 --container-id c0ffee";

pub const STATUS: &str = "\
Runs STATUS on every plugin (configurations of version 1.1.0 and later); prints nothing when
the network is ready.

Examples:
  twill status mynet";

pub const GC: &str = "\
1. Runs of `twill run` whose owner died (SIGKILL, crash) are torn down: their attachments
   DELeted in reverse, their namespace removed, their run-state file dropped.
2. Cached attachments whose network namespace is gone are DELeted.
3. GC goes to every plugin of each network (1.1.0 and later) with the attachments still alive,
   so plugins release anything else they hold (addresses, firewall state).

`cnitool gc NET NETNS` releases every attachment of NET; that is `twill gc NET --all` here.

Examples:
  twill gc
  twill gc mynet
  twill gc mynet --all      # detach everything on mynet, live or not";

pub const RUN: &str = "\
Creates the namespace `twill-NAME` in --netns-dir, attaches it to each --net in order (eth0,
eth1, …), runs CMD inside it with the terminal attached, and passes its exit status through.
SIGINT, SIGTERM and SIGHUP sent to twill are forwarded to CMD. When CMD exits — also after
Ctrl-C — every attachment is DELeted in reverse and the namespace removed. If twill itself is
killed, `twill gc` finds the dead run and does the same.

Without --net the network `twill` is used: the one in NETCONFPATH if there is one, otherwise
an embedded default (bridge twill0, 10.88.0.0/16 from host-local, tuning) written to
STATE_DIR/net.d on first use.

Exit status: CMD's, 128+N when CMD was killed by signal N, 125 when twill failed, 126 when
CMD cannot be executed, 127 when it was not found.

Examples:
  twill run -- ip -4 addr show eth0
  twill run --name web -p 8080:80 --net mynet -- nginx -g 'daemon off;'
  twill run --net a --net b -- sh        # eth0 on a, eth1 on b
  twill run --ip 10.88.0.42 -- ping -c1 10.88.0.1";

pub const LS: &str = "\
Every attachment in the cache: network, container ID, interface, namespace, addresses from
the cached result, and whether the namespace still exists (a `no` is what `twill gc` releases).

Examples:
  twill ls
  twill ls --json | jq -r '.[].addresses[]'";

pub const PLUGINS: &str = "\
Every executable in the CNI_PATH directories, with the spec versions it answers to VERSION.
When a name is in several directories the first one is used, as runtimes do.

Examples:
  twill plugins
  CNI_PATH=/usr/lib/cni twill plugins --json";

pub const NET_CREATE: &str = "\
Writes NAME.conflist into the first configuration directory, after checking that every plugin
it names is on CNI_PATH and speaks its version (the highest version all of them speak).

bridge:  bridge (gateway on the bridge, hairpin), host-local IPAM with a default route
ptp:     ptp with host-local IPAM and a default route
macvlan: macvlan on --master with host-local IPAM

Examples:
  twill net create web
  twill net create web --subnet 10.89.7.0/24 --gateway 10.89.7.254 --mtu 1400
  twill net create dual --ipv6 fd00:89:7::/64
  twill net create backend --no-default-route     # a pod's second network
  twill net create routed --driver ptp
  twill net create lan --driver macvlan --master eth0 --subnet 192.168.1.0/24";

pub const NET_LS: &str = "\
Networks in the order runtimes find them (per directory: .conflist files, then .conf and
.json). Files that could not be loaded are reported, not hidden.

Examples:
  twill net ls
  twill net ls --json";

pub const NET_INSPECT: &str = "\
Prints the configuration as runtimes see it (plugins from NET's directory included).

Examples:
  twill net inspect web
  twill net inspect web | jq .plugins[0].ipam";

pub const NET_RM: &str = "\
Removes the network's configuration file. Refused while the cache holds attachments of it
(they could not be detached properly without it), unless --force, which DELs them first.

Examples:
  twill net rm web
  twill net rm web --force";
