use std::fmt;

/// One validation problem: the field it is about and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Dotted field path, e.g. `metrics.exporters[0].Prometheus.port`.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JSON is malformed, has an unknown field, a wrong type or a bad duration.
    #[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
    Parse {
        /// Field path where parsing stopped (empty at the top level).
        path: String,
        /// The parser's message.
        message: String,
    },
    /// The values parsed but break the rules; every problem is listed.
    #[error("invalid telemetry config:\n{}", .0.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigIssue>),
}

impl ConfigError {
    /// The validation problems, empty for other kinds of error.
    pub fn issues(&self) -> &[ConfigIssue] {
        match self {
            Self::Invalid(issues) => issues,
            _ => &[],
        }
    }
}
