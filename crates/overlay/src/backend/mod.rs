//! Data planes that need code of their own at run time, beyond what the reconciler programs
//! into the kernel.

pub mod udp;
