//! One error type for everything a caller can get wrong: it carries a message meant for people.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("config: {0}")]
    Config(String),
    #[error("weights: {0}")]
    Weights(String),
    #[error("tokens: {0}")]
    Tokens(String),
    #[error("hook: {0}")]
    Hook(String),
    #[error("backend: {0}")]
    Backend(String),
    #[error("training: {0}")]
    Training(String),
    #[error("io: {0}")]
    Io(String),
}

pub type Result<T> = std::result::Result<T, Error>;
