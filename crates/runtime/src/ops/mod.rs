//! The network-list operations, as methods of [`crate::Runtime`].

pub(crate) mod add_del;
mod check_status;
mod gc;

#[cfg(test)]
mod tests;
