//! A configuration problem names the key and where its value came from, so
//! an operator can go straight to the line to fix.

use std::fmt;
use std::path::PathBuf;

/// Where a value was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Environment,
    File { path: PathBuf, line: Option<usize> },
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Environment => f.write_str("environment"),
            Origin::File {
                path,
                line: Some(l),
            } => write!(f, "{} line {l}", path.display()),
            Origin::File { path, line: None } => write!(f, "{}", path.display()),
            Origin::Default => f.write_str("default"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub origin: Origin,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.key, self.origin, self.message)
    }
}

/// Every problem found in one pass: reporting them all at once spares the
/// operator a fix-and-retry loop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} configuration problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.0 {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}
