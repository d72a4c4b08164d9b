//! Where a module sits in the tree (candle's `pp()` prefixes, TransformerLens' `setup()`):
//! modules name their parameters and hook points from their scope once, when built, so a
//! forward pass formats no names.

use std::fmt::Display;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope(String);

impl Scope {
    pub fn root() -> Self {
        Self::default()
    }

    /// The child scope `part` (`blocks` → `blocks.0` → `blocks.0.attn`).
    pub fn pp(&self, part: impl Display) -> Self {
        Self(self.name(part))
    }

    /// The full name of `leaf` in this scope (a parameter or a hook point).
    pub fn name(&self, leaf: impl Display) -> String {
        if self.0.is_empty() { leaf.to_string() } else { format!("{}.{leaf}", self.0) }
    }
}

/// A named place an activation passes through (TL's `HookPoint`): the name is fixed when the
/// module is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookPoint(pub String);

impl HookPoint {
    pub fn new(scope: &Scope, leaf: &str) -> Self {
        Self(scope.name(leaf))
    }

    pub fn name(&self) -> &str {
        &self.0
    }
}
