//! The integration tests, as one test binary: each file used to be its own, and each linked
//! all of burn again: building the tests after a change to the crate took 52 s, now 45 s.
#![cfg(not(target_arch = "wasm32"))]

mod analysis;
mod checkpoints;
mod common;
mod errors;
mod fuzz;
mod hooks;
mod parity;
mod pretrained;
mod run_cache;
mod tasks;
mod train;
mod training_parity;
