//! The command line: every subcommand, flag and environment variable, with their help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::help;

/// twill — container networking: run CNI plugins, manage networks, clean up after crashes.
#[derive(Debug, Parser)]
#[command(
    name = "twill",
    version,
    about = "Container networking with CNI: attach namespaces to networks, run commands in them, clean up",
    long_about = help::LONG_ABOUT,
    after_help = help::TOP_EXAMPLES,
    propagate_version = true,
    disable_help_subcommand = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Settings every subcommand shares.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted by every subcommand (before or after its name).
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Print JSON for scripts (errors too, as a CNI error object on stdout)
    #[arg(long, global = true)]
    pub json: bool,

    /// Network configuration directories, in search order (`net create` writes to the first)
    #[arg(
        long = "net-config-dir",
        value_name = "DIR",
        global = true,
        env = "NETCONFPATH",
        value_delimiter = ':',
        default_value = "/etc/cni/net.d"
    )]
    pub conf_dirs: Vec<PathBuf>,

    /// Plugin directories, in search order
    #[arg(
        long = "cni-path",
        value_name = "DIR",
        global = true,
        env = "CNI_PATH",
        value_delimiter = ':',
        default_value = "/opt/cni/bin"
    )]
    pub cni_path: Vec<PathBuf>,

    /// Attachment cache directory (libcni's; results under DIR/results)
    #[arg(
        long = "cache-dir",
        value_name = "DIR",
        global = true,
        env = "TWILL_CACHE_DIR",
        default_value = "/var/lib/cni"
    )]
    pub cache_dir: PathBuf,

    /// Run-state files of `twill run` and the embedded default network
    #[arg(
        long = "state-dir",
        value_name = "DIR",
        global = true,
        env = "TWILL_STATE_DIR",
        default_value = "/run/twill"
    )]
    pub state_dir: PathBuf,

    /// Where `twill run` creates named network namespaces
    #[arg(
        long = "netns-dir",
        value_name = "DIR",
        global = true,
        env = "TWILL_NETNS_DIR",
        default_value = "/run/netns"
    )]
    pub netns_dir: PathBuf,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Attach a network namespace to a network (ADD) and print the result
    #[command(after_help = help::ADD)]
    Add(AttachArgs),
    /// Check an attachment against what its ADD set up (CHECK)
    #[command(after_help = help::CHECK)]
    Check(AttachArgs),
    /// Detach a network namespace from a network (DEL)
    #[command(after_help = help::DEL)]
    Del(AttachArgs),
    /// Ask every plugin of a network whether it is ready for ADDs (STATUS)
    #[command(after_help = help::STATUS)]
    Status(StatusArgs),
    /// Release what crashed containers and runs left behind, then GC the plugins
    #[command(after_help = help::GC)]
    Gc(GcArgs),
    /// Run a command in a fresh network namespace attached to networks
    #[command(after_help = help::RUN)]
    Run(RunArgs),
    /// Create, list, inspect and remove networks
    #[command(subcommand)]
    Net(NetCommand),
    /// List live attachments from the cache
    #[command(after_help = help::LS)]
    Ls,
    /// List the plugins on CNI_PATH with the spec versions they speak
    #[command(after_help = help::PLUGINS)]
    Plugins,
    /// What this node's overlay agent (twilld) knows: its health, every node's lease
    #[command(subcommand)]
    Overlay(OverlayCommand),
}

/// `twill overlay …`.
#[derive(Debug, Subcommand)]
pub enum OverlayCommand {
    /// This node's agent: health, lease, peers, the last reconcile
    Status(OverlayArgs),
    /// Every node of the pod network: subnet, public IP, backend, lease expiry
    Ls(OverlayArgs),
}

/// Where to find the agent.
#[derive(Debug, Args)]
pub struct OverlayArgs {
    /// twilld's --state-dir, where it keeps status.json
    #[arg(
        long = "agent-dir",
        value_name = "DIR",
        env = "TWILLD_STATE_DIR",
        default_value = "/var/lib/twilld"
    )]
    pub agent_dir: PathBuf,
}

/// NET NETNS and how the attachment is identified: cnitool's arguments.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Network name (a configuration in NETCONFPATH)
    pub net: String,
    /// Network namespace: a path, or a name in --netns-dir
    pub netns: String,
    /// Interface name inside the namespace
    #[arg(short = 'i', long, env = "CNI_IFNAME", default_value = "eth0")]
    pub ifname: String,
    /// Container ID [default: "cnitool-" + 20 hex digits of sha512(absolute NETNS path)]
    #[arg(long = "container-id", value_name = "ID")]
    pub container_id: Option<String>,
    /// Capability arguments as a JSON object (portMappings, ips, mac, bandwidth, …)
    #[arg(long = "cap-args", value_name = "JSON", env = "CAP_ARGS")]
    pub cap_args: Option<String>,
    /// CNI_ARGS: K=V pairs separated by `;`
    #[arg(long = "cni-args", value_name = "K=V;…", env = "CNI_ARGS")]
    pub cni_args: Option<String>,
}

/// `twill status NET [NETNS]`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Network name
    pub net: String,
    /// Accepted for cnitool's command line; not used
    #[arg(hide = true)]
    pub netns: Option<String>,
}

/// `twill gc [NET] [NETNS] [--all]`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Only this network [default: every network]
    pub net: Option<String>,
    /// Accepted for cnitool's command line; not used
    #[arg(hide = true)]
    pub netns: Option<String>,
    /// Release every cached attachment of NET, live or not (what `cnitool gc` does)
    #[arg(long, requires = "net")]
    pub all: bool,
}

/// `twill run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Network to attach to, in order: eth0, eth1, … [default: the network `twill`]
    #[arg(long = "net", value_name = "NET")]
    pub nets: Vec<String>,
    /// Publish a port: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp|sctp]
    #[arg(short = 'p', long = "publish", value_name = "HOST:CONTAINER[/PROTO]")]
    pub publish: Vec<String>,
    /// Request an address (the `ips` capability; one network only)
    #[arg(long = "ip", value_name = "IP")]
    pub ips: Vec<String>,
    /// Request a MAC address (the `mac` capability; one network only)
    #[arg(long)]
    pub mac: Option<String>,
    /// Name of the run; the namespace is `twill-NAME` [default: random]
    #[arg(long)]
    pub name: Option<String>,
    /// The command and its arguments
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub cmd: Vec<String>,
}

/// `twill net …`.
#[derive(Debug, Subcommand)]
pub enum NetCommand {
    /// Write a new network configuration (NAME.conflist in the first config directory)
    #[command(after_help = help::NET_CREATE)]
    Create(NetCreateArgs),
    /// List the networks of the configuration directories
    #[command(after_help = help::NET_LS)]
    Ls,
    /// Print a network's configuration
    #[command(after_help = help::NET_INSPECT)]
    Inspect {
        /// Network name
        name: String,
    },
    /// Remove a network's configuration file
    #[command(after_help = help::NET_RM)]
    Rm {
        /// Network name
        name: String,
        /// Detach (DEL) its attachments first instead of refusing
        #[arg(long)]
        force: bool,
    },
}

/// The kinds of network `net create` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Driver {
    /// A Linux bridge on the host, one veth per pod (plugin `bridge`)
    Bridge,
    /// A routed veth pair per pod, no bridge (plugin `ptp`)
    Ptp,
    /// A MAC-VLAN on a host interface (plugin `macvlan`)
    Macvlan,
    /// An IP-VLAN on a host interface: pods share its MAC (plugin `ipvlan`)
    Ipvlan,
}

/// `twill net create`.
#[derive(Debug, Args)]
pub struct NetCreateArgs {
    /// Network name: letters, digits, `_`, `.`, `-`, starting with a letter or digit
    pub name: String,
    /// How pods connect
    #[arg(long, value_enum, default_value = "bridge")]
    pub driver: Driver,
    /// Pod subnet [default: the first free 10.89.N.0/24]
    #[arg(long, value_name = "CIDR")]
    pub subnet: Option<String>,
    /// Gateway address in --subnet [default: the subnet's first address]
    #[arg(long, value_name = "IP", requires = "subnet")]
    pub gateway: Option<String>,
    /// Also give pods an IPv6 address from this subnet
    #[arg(long, value_name = "CIDR")]
    pub ipv6: Option<String>,
    /// Masquerade pod traffic leaving the subnet (bridge and ptp)
    #[arg(long)]
    pub masq: bool,
    /// MTU of the links
    #[arg(long)]
    pub mtu: Option<u32>,
    /// Isolate pods from each other (bridge: port isolation; macvlan: private mode)
    #[arg(long)]
    pub isolate: bool,
    /// No default route through this network (for a pod's second network)
    #[arg(long = "no-default-route")]
    pub no_default_route: bool,
    /// Bridge name (bridge driver) [default: the first free twillN]
    #[arg(long, value_name = "IFNAME")]
    pub bridge: Option<String>,
    /// Host interface (macvlan and ipvlan drivers) [default: the interface of the default
    /// route]
    #[arg(long, alias = "parent", value_name = "IFNAME")]
    pub master: Option<String>,
    /// Mode: macvlan bridge|private|vepa|passthru [bridge], ipvlan l2|l3|l3s [l2]
    #[arg(long)]
    pub mode: Option<String>,
    /// No way out: no masquerade and no default route through the network
    #[arg(long, conflicts_with = "masq")]
    pub internal: bool,
}
