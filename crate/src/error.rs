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
    /// The loss left every sane range: the trainer stopped the run (its weights put back).
    #[error("training: {0}")]
    Diverged(String),
    #[error("io: {0}")]
    Io(String),
}

impl Error {
    /// What kind of error this is, for a caller that acts on it (the page's worker passes it
    /// on as the reply's `code`): a name, never a message to match.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Weights(_) => "weights",
            Error::Tokens(_) => "tokens",
            Error::Hook(_) => "hook",
            Error::Backend(_) => "backend",
            Error::Training(_) => "training",
            Error::Diverged(_) => "diverged",
            Error::Io(_) => "io",
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A byte count as our messages give sizes (`6.00 GiB`): the checkpoint reader's and the
/// config's size refusals.
pub fn human_bytes(n: usize) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.2} {}", UNITS[u]) }
}
