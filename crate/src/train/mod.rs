//! Training: recipes, optimizers, schedules and the stepwise loop.

pub mod cross_entropy;
pub mod loss;
pub mod optim;
pub mod recipe;
pub mod schedule;
pub mod state;
pub mod timeline;
pub mod trainer;

pub use recipe::Recipe;
pub use timeline::checkpoint_steps;
pub use trainer::{EvalLog, StepLog, Trainer};
