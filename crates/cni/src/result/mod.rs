//! (filled in by the result work)
