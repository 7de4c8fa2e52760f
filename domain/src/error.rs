//! Errors of loading, checking and grounding domains and problems.

use std::fmt;
use std::path::{Path, PathBuf};

/// A domain, problem or binding that does not parse or check.
///
/// Displayed as one line, `file:line: where: reason` (the line when it is known), e.g.
/// `kitchen/domain.pddl:41: action pick_from: effect: unknown predicate holdin`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DomainError {
    /// The file, when the text came from one.
    pub file: Option<PathBuf>,
    /// 1-based line of the offending form, when known.
    pub line: Option<u32>,
    /// Where in the file: `action pick_from: precondition`, `goal`, `init`, ...
    pub field: String,
    /// What is wrong.
    pub reason: String,
    /// What kind of problem it is.
    pub kind: ErrorKind,
}

/// What kind of problem a [`DomainError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text is not PDDL (syntax).
    Syntax,
    /// A name is used that is not declared (predicate, type, object, variable, action).
    Undeclared,
    /// A predicate or action used with the wrong number of arguments.
    Arity,
    /// An argument of the wrong type.
    Type,
    /// A PDDL feature this planner does not support (numeric fluents, durative actions, ...).
    Unsupported,
    /// Derived predicates that depend negatively on themselves.
    NotStratifiable,
    /// A name declared twice.
    Duplicate,
    /// A skill binding (YAML) that does not fit its domain.
    Binding,
    /// The file could not be read.
    Io,
}

impl DomainError {
    pub(crate) fn new(
        kind: ErrorKind,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        DomainError {
            file: None,
            line: None,
            field: field.into(),
            reason: reason.into(),
            kind,
        }
    }

    /// The same error, located in `file` (kept if already set).
    pub fn in_file(mut self, file: &Path) -> Self {
        self.file.get_or_insert_with(|| file.to_path_buf());
        self
    }

    /// The same error at `line` (kept if already set).
    pub fn at_line(mut self, line: Option<u32>) -> Self {
        if self.line.is_none() {
            self.line = line;
        }
        self
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(p), Some(l)) => write!(f, "{}:{l}: ", p.display())?,
            (Some(p), None) => write!(f, "{}: ", p.display())?,
            (None, Some(l)) => write!(f, "line {l}: ")?,
            (None, None) => {}
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.reason)
    }
}
