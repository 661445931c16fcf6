//! Structured logs on standard error (standard output is for what a subcommand prints).
//! `RUST_LOG` overrides the default level. Colours only on a terminal, and never with `NO_COLOR`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .try_init();
}

/// Colour codes only for a person at a terminal: a file or a pipe gets plain text
/// (<https://no-color.org>: a non-empty `NO_COLOR` turns colour off).
fn use_colour(writes_to_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    writes_to_terminal && no_color.is_none_or(|value| value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some("".as_ref())));
        assert!(!use_colour(true, Some("1".as_ref())));
        assert!(!use_colour(false, None), "a file or a pipe");
    }
}
