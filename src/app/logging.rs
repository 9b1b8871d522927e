//! Logs go to stderr through `env_logger`; stdout is reserved for what
//! PROTOCOL.md says a binary prints.

/// Logs to stderr; `RUST_LOG` overrides `default_level`.
pub fn init(default_level: &str) {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level))
        .init();
}
