//! Helpers shared by the `g1d` command-line tests (the rest is in `g1-testkit`).

pub use g1_testkit::{python_bag_report, repo};
