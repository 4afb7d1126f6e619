//! One module per group of commands; each command is a small function with its output beside it.

pub mod bench;
pub mod eval;
pub mod folders;
pub mod index;
pub mod models;
pub mod query;
pub mod serve;
pub mod tune;
