//! Reclamation off the caller's path: the kernel work that follows a deletion once its effect
//! is visible, done in a detached process so the caller returns at the speed of the deletion.
//!
//! Two waits of the kernel's are not the deletion itself:
//!
//! * **Deleting a link.** Within a millisecond of the request the kernel has unlisted the
//!   device (and a veth's peer), removed their addresses, routes and neighbours, and announced
//!   `RTM_DELLINK` to listeners. Then, after releasing the RTNL lock, it waits for an RCU
//!   barrier and for the device's last references, and only then acknowledges: 10–50 ms here.
//! * **Closing a netfilter socket.** When the last reference to a bound `NETLINK_NETFILTER`
//!   socket goes, nf_tables flushes its pending destroy work — the freeing of what recent
//!   commits deleted, after an RCU grace period — holding the namespace's commit mutex. A
//!   process that deleted a set element pays 10–20 ms at its exit, and so does any process
//!   closing such a socket while someone else's deletion is pending.
//!
//! Both waits happen in whichever process makes the request or drops the last reference. Here
//! that is another process started with `fork` — no program is executed — that keeps only the
//! descriptors it needs, is orphaned at once (so the caller never has a zombie), and exits when
//! the kernel is done. The caller waits only for what another process could observe:
//! [`delete_link_unwaited`] returns once the kernel has announced the removal of every link the
//! deletion takes, and [`hand_off`] returns at once, the sockets' effects having been committed
//! long before: it gives the sockets to the namespace's keeper (`keeper`), which closes them
//! together when the node is quiet, so that closes do not stall other plugins' commits either.
//! Why this is safe is written down in `docs/decisions.md`.

mod closes;
mod detach;
mod keeper;
mod link;

pub(crate) use closes::keep_until_hand_off;
pub use closes::{defer_socket_closes, hand_off};
pub use link::{delete_link_unwaited, Watch};
