//! Constants of the netlink and rtnetlink wire format, from the kernel's uapi headers
//! (`linux/netlink.h`, `rtnetlink.h`, `if_link.h`, `if_addr.h`, `veth.h`, `if_bridge.h`).
//!
//! Written out by hand so the crate needs no bindgen and every value it puts on the wire is
//! visible in one place. A unit test cannot check them against the headers; the integration
//! tests prove them against the running kernel.

// ---- netlink.h ----
/// Protocol number of the routing family.
pub const NETLINK_ROUTE: i32 = 0;
/// Protocol number of nfnetlink (nf_tables, conntrack, …).
pub const NETLINK_NETFILTER: i32 = 12;
/// Socket option: do not echo the request in error replies.
pub const NETLINK_CAP_ACK: i32 = 10;
/// Socket option: ask for extended ACKs (an error message and offset as TLVs).
pub const NETLINK_EXT_ACK: i32 = 11;

/// Message type: no operation.
pub const NLMSG_NOOP: u16 = 1;
/// Message type: an error or, with error 0, an acknowledgement.
pub const NLMSG_ERROR: u16 = 2;
/// Message type: end of a multi-part reply.
pub const NLMSG_DONE: u16 = 3;
/// Message type: data was lost.
pub const NLMSG_OVERRUN: u16 = 4;

/// Flag: this is a request.
pub const NLM_F_REQUEST: u16 = 0x01;
/// Flag: part of a multi-part reply ended by `NLMSG_DONE`.
pub const NLM_F_MULTI: u16 = 0x02;
/// Flag: reply with an acknowledgement on success.
pub const NLM_F_ACK: u16 = 0x04;
/// Flag: the dump was inconsistent because the object set changed while it ran.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// GET flag: return the whole table.
pub const NLM_F_ROOT: u16 = 0x100;
/// GET flag: return all matching entries.
pub const NLM_F_MATCH: u16 = 0x200;
/// GET flag: a dump.
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
/// NEW flag: replace an existing object.
pub const NLM_F_REPLACE: u16 = 0x100;
/// NEW flag: fail if the object exists.
pub const NLM_F_EXCL: u16 = 0x200;
/// NEW flag: create the object if it does not exist.
pub const NLM_F_CREATE: u16 = 0x400;
/// NEW flag: add to the end of the list (nf_tables rules).
pub const NLM_F_APPEND: u16 = 0x800;
/// ACK flag: the echoed request was capped to its header.
pub const NLM_F_CAPPED: u16 = 0x100;
/// ACK flag: extended ACK TLVs follow the echoed request.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

/// Extended ACK TLV: a human-readable message.
pub const NLMSGERR_ATTR_MSG: u16 = 1;

/// Attribute type flag: the payload is a nested attribute stream.
pub const NLA_F_NESTED: u16 = 0x8000;
/// Attribute type flag: the payload is in network byte order.
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
/// Mask that strips both flags from an attribute type.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

// ---- rtnetlink.h: message types ----
/// Create or change a link.
pub const RTM_NEWLINK: u16 = 16;
/// Delete a link.
pub const RTM_DELLINK: u16 = 17;
/// Get or dump links.
pub const RTM_GETLINK: u16 = 18;
/// Add an address.
pub const RTM_NEWADDR: u16 = 20;
/// Delete an address.
pub const RTM_DELADDR: u16 = 21;
/// Dump addresses.
pub const RTM_GETADDR: u16 = 22;
/// Add or replace a route.
pub const RTM_NEWROUTE: u16 = 24;
/// Delete a route.
pub const RTM_DELROUTE: u16 = 25;
/// Get or dump routes.
pub const RTM_GETROUTE: u16 = 26;
/// Add or change a neighbour or FDB entry.
pub const RTM_NEWNEIGH: u16 = 28;
/// Delete a neighbour or FDB entry.
pub const RTM_DELNEIGH: u16 = 29;
/// Get or dump neighbours or FDB entries.
pub const RTM_GETNEIGH: u16 = 30;

/// `IFLA_EXT_MASK` bit: leave statistics out of link replies (they are most of the bytes).
pub const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;

// ---- if_link.h: link attributes ----
/// Link-layer address.
pub const IFLA_ADDRESS: u16 = 1;
/// Link-layer broadcast address.
pub const IFLA_BROADCAST: u16 = 2;
/// Interface name.
pub const IFLA_IFNAME: u16 = 3;
/// MTU.
pub const IFLA_MTU: u16 = 4;
/// Index of the lower or peer link.
pub const IFLA_LINK: u16 = 5;
/// Index of the master (bridge or bond).
pub const IFLA_MASTER: u16 = 10;
/// RFC 2863 operational state.
pub const IFLA_OPERSTATE: u16 = 16;
/// Nested: kind and kind-specific data.
pub const IFLA_LINKINFO: u16 = 18;
/// Target namespace given by a file descriptor.
pub const IFLA_NET_NS_FD: u16 = 28;
/// Extended info mask for GET requests.
pub const IFLA_EXT_MASK: u16 = 29;
/// Namespace id (as seen from the replying namespace) of the peer or lower link.
pub const IFLA_LINK_NETNSID: u16 = 37;
/// `IFLA_LINKINFO` member: the kind string (`veth`, `bridge`, …).
pub const IFLA_INFO_KIND: u16 = 1;
/// `IFLA_LINKINFO` member: kind-specific nested data.
pub const IFLA_INFO_DATA: u16 = 2;

// ---- if_link.h: vxlan (`IFLA_INFO_DATA` members of kind "vxlan") ----
/// VXLAN network identifier (u32).
pub const IFLA_VXLAN_ID: u16 = 1;
/// Index of the underlying device (u32).
pub const IFLA_VXLAN_LINK: u16 = 3;
/// Local IPv4 address of the tunnel endpoint.
pub const IFLA_VXLAN_LOCAL: u16 = 4;
/// TTL of encapsulated packets (u8; 0 = inherit).
pub const IFLA_VXLAN_TTL: u16 = 5;
/// Learn remote MACs from received packets (u8).
pub const IFLA_VXLAN_LEARNING: u16 = 7;
/// UDP destination port (u16, network byte order).
pub const IFLA_VXLAN_PORT: u16 = 15;
/// Local IPv6 address of the tunnel endpoint.
pub const IFLA_VXLAN_LOCAL6: u16 = 17;
/// Checksum outer UDP over IPv4 (u8).
pub const IFLA_VXLAN_UDP_CSUM: u16 = 18;
/// Group Based Policy extension (flag: present or absent).
pub const IFLA_VXLAN_GBP: u16 = 23;

// ---- neighbour.h ----
/// Neighbour attribute: the protocol address (IP; for FDB entries, the remote endpoint).
pub const NDA_DST: u16 = 1;
/// Neighbour attribute: the link-layer address.
pub const NDA_LLADDR: u16 = 2;
/// Neighbour dump attribute: only entries of this interface.
pub const NDA_IFINDEX: u16 = 8;

// ---- veth.h ----
/// `IFLA_INFO_DATA` member of a veth: an `ifinfomsg` plus attributes describing the peer.
pub const VETH_INFO_PEER: u16 = 1;

// ---- if.h: interface flags ----
/// Interface is administratively up.
pub const IFF_UP: u32 = 0x1;
/// Interface is a loopback.
pub const IFF_LOOPBACK: u32 = 0x8;
/// Driver signals the lower layer is up (carrier).
pub const IFF_LOWER_UP: u32 = 0x1_0000;

// ---- if_addr.h ----
/// Address attribute: the prefix address (the peer on point-to-point links).
pub const IFA_ADDRESS: u16 = 1;
/// Address attribute: the local address.
pub const IFA_LOCAL: u16 = 2;
/// Address attribute: the label (IPv4 only).
pub const IFA_LABEL: u16 = 3;
/// Address attribute: the broadcast address (IPv4 only).
pub const IFA_BROADCAST: u16 = 4;
/// Address attribute: the 32-bit flags word that extends the header's 8-bit field.
pub const IFA_FLAGS: u16 = 8;

// ---- rtnetlink.h: routes ----
/// Route attribute: destination.
pub const RTA_DST: u16 = 1;
/// Route attribute: output interface index.
pub const RTA_OIF: u16 = 4;
/// Route attribute: gateway.
pub const RTA_GATEWAY: u16 = 5;
/// Route attribute: priority (the metric).
pub const RTA_PRIORITY: u16 = 6;
/// Route attribute: preferred source address.
pub const RTA_PREFSRC: u16 = 7;
/// Route attribute: 32-bit table id (the header's field holds only 8 bits).
pub const RTA_TABLE: u16 = 15;
/// `rtm_flags` bit: the gateway is on-link even if no prefix says so.
pub const RTNH_F_ONLINK: u32 = 4;
/// Table id meaning "not given".
pub const RT_TABLE_UNSPEC: u8 = 0;

// ---- socket.h ----
/// Address family: unspecified (all families).
pub const AF_UNSPEC: u8 = 0;
/// Address family: IPv4.
pub const AF_INET: u8 = 2;
/// Address family: IPv6.
pub const AF_INET6: u8 = 10;
/// Address family: bridge (used by FDB and bridge port messages).
pub const AF_BRIDGE: u8 = 7;
