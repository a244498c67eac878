#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! Black-box tests: each starts the real `taxiid` binary and speaks HTTP to it. One test
//! binary, one module per area; `docs/CONFORMANCE.md` maps checklist ids to these tests.

mod access;
mod add;
mod auth;
mod cli;
mod collections;
mod discovery;
mod durability;
mod errors;
mod filters;
mod general;
mod health;
mod helpers;
mod limits;
mod manifest;
mod medallion;
mod mtls;
mod native_config;
mod negotiation;
mod object;
mod objects;
mod observability;
mod paging;
mod postgres;
mod smoke;
mod status;
mod stix;
mod taxii20;
mod tls;
mod tokens;
mod versions;
