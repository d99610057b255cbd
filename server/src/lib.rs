//! Uplift's server: the `uplift` binary's library, so integration tests and benchmarks reach
//! the same code the binary runs.
//!
//! Reading order:
//! 1. `domain`: the words (statuses, versions, package patterns, configuration), pure.
//! 2. `scheduler` and `planner`: where VMs go and how a rolling upgrade is cut into waves, pure.
//! 3. `store`: every SQL query, and the migrations' schema.
//! 4. `fleet`: the `Driver` trait hosts are touched through, the `sim` driver, the `ssh` driver
//!    for real hosts (`fleet::ssh`), fleet files.
//! 5. `content`: the content providers errata come from (Foreman/Katello, or the simulator).
//! 6. `workflow`: the step runner every long operation runs on (docs/workflows.md).
//! 7. `service`: the one place that decides; `service::jobs` starts and resumes every job, and
//!    each feature module holds its flow.
//! 8. `http` (REST, portal, stream, oVirt's Engine API) and `cli`: thin doors into the service; `server` starts it all.
//! 9. `backup`: Uplift's own state in one archive, beside the service (it copies the database).

pub mod backup;
pub mod cli;
pub mod content;
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

pub use http::{api_body, ovirt_route_list};
