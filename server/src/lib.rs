//! Uplift's server: the `uplift` binary's library, so integration tests and benchmarks reach
//! the same code the binary runs.

pub mod cli;
mod credentials;
pub mod domain;
pub mod fleet;
mod http;
pub mod planner;
pub mod scheduler;
pub mod server;
pub mod service;
pub mod store;
