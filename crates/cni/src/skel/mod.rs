//! (filled in by the skel work)
