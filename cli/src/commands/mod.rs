//! One module per group of subcommands.

pub mod define;
pub mod demo;
pub mod import;
pub mod inspect;
pub mod query;
pub mod watch;
