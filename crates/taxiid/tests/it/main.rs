#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! Black-box tests: each starts the real `taxiid` binary and speaks HTTP to it. One test
//! binary, one module per area; `docs/CONFORMANCE.md` maps checklist ids to these tests.

mod helpers;
mod smoke;
