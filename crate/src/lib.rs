//! toylens: tiny TransformerLens-style transformers on burn, natively and in the browser.

pub mod analysis;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod error;
pub mod io;
// Parameter fields carry TL's names (W_Q, b_U, …) so module paths are TL state-dict keys.
#[allow(non_snake_case)]
pub mod model;
pub mod tasks;
pub mod train;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{Error, Result};
