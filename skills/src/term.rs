//! The paper's term notation: `name(arg, arg, ...)`, used for skill calls in plan files and
//! for goal predicates in scenario files.

/// Why a term did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed term {text:?}: {reason} (expected name(arg, ...))")]
pub struct TermError {
    /// The text.
    pub text: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Parse `name(a, b)` into `("name", ["a", "b"])`. Names and arguments are identifiers
/// (`[A-Za-z0-9_]`); whitespace around them is ignored.
///
/// # Errors
/// [`TermError`] for missing parentheses, empty or non-identifier names, or trailing text.
pub fn parse_term(text: &str) -> Result<(String, Vec<String>), TermError> {
    let err = |reason| TermError {
        text: text.to_string(),
        reason,
    };
    let t = text.trim();
    let open = t.find('(').ok_or_else(|| err("no '('"))?;
    if !t.ends_with(')') {
        return Err(err("does not end with ')'"));
    }
    let name = t[..open].trim();
    if !is_ident(name) {
        return Err(err("name is not an identifier"));
    }
    let inner = &t[open + 1..t.len() - 1];
    if inner.contains('(') || inner.contains(')') {
        return Err(err("nested parentheses"));
    }
    let args: Vec<String> = if inner.trim().is_empty() {
        Vec::new()
    } else {
        inner.split(',').map(|a| a.trim().to_string()).collect()
    };
    if args.iter().any(|a| !is_ident(a)) {
        return Err(err("an argument is not an identifier"));
    }
    Ok((name.to_string(), args))
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_terms() {
        assert_eq!(
            parse_term(" pick_from(robot_1, apple ,table) ").unwrap(),
            (
                "pick_from".into(),
                vec!["robot_1".into(), "apple".into(), "table".into()]
            )
        );
        assert_eq!(parse_term("done()").unwrap(), ("done".into(), vec![]));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "go_to", "go_to(a", "(a)", "go to(a)", "f(a,)", "f(g(a))", "f(a) x", "f(a; b)",
        ] {
            assert!(parse_term(bad).is_err(), "{bad:?} accepted");
        }
    }
}
