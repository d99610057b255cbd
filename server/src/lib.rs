//! Uplift's server: the `uplift` binary's library, so integration tests and benchmarks reach
//! the same code the binary runs.
//!
//! Reading order:
//! 1. `domain`: the words (statuses, versions, package patterns, configuration), pure.
//! 2. `scheduler` and `planner`: where VMs go and how a rolling upgrade is cut into waves, pure.
//! 3. `store`: every SQL query, and the migrations' schema.
//! 4. `fleet`: the `Driver` trait hosts are touched through, the `sim` driver, the `ssh` driver
//!    for real hosts (`fleet::ssh`), fleet files.
//! 5. `workflow`: the step runner every long operation runs on (docs/workflows.md).
//! 6. `service`: the one place that decides; `service::jobs` starts and resumes every job, and
//!    each feature module holds its flow.
//! 7. `http` (REST, portal, stream) and `cli`: thin doors into the service; `server` starts it all.
//! 8. `backup`: Uplift's own state in one archive, beside the service (it copies the database).

pub mod backup;
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
pub mod workflow;

pub use http::api_body;
