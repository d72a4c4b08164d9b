//! The TransformerLens-faithful model: config, parameters, components and hooks.

pub mod attention;
pub mod block;
pub mod config;
pub mod distinct_rows;
pub mod embed;
pub mod gelu;
pub mod hooks;
pub mod infer;
pub mod layer_norm;
pub mod layer_norm_node;
pub mod mlp;
pub mod params;
pub mod process;
pub mod row_kernels;
pub mod scope;
pub mod softmax;
pub mod transformer;
pub mod unary_node;

pub use config::HookedTransformerConfig;
pub use hooks::{ActivationCache, CachedTensor, HookAction, Intervention, NameFilter, Selection};
pub use transformer::{HookedTransformer, NamedTensor, Tokens};
