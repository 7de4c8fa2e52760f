//! PDDL text → the checked lifted model ([`Domain`], [`Problem`]).
//!
//! Syntax is read by the `pddl` crate (PDDL 3.1, nom); this module resolves every name and
//! checks what the syntax cannot: declared types, predicates, variables and objects, arities,
//! duplicates, stratified derived predicates. Requirements are not enforced, as Fast Downward
//! does not: EAI's `virtualhome.pddl` uses `or`, `when` and `forall` while declaring only
//! `:typing`. Numeric fluents and durative actions are rejected; `(increase (total-cost) ..)`
//! effects are ignored (plans are unit cost).

use crate::error::{DomainError, ErrorKind};
use crate::lifted::*;
use pddl::Parser as _;
use std::path::Path;

type Result<T> = std::result::Result<T, DomainError>;

fn err(kind: ErrorKind, field: &str, reason: impl Into<String>) -> DomainError {
    DomainError::new(kind, field, reason)
}

/// 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> Option<u32> {
    let at = text.find(needle)?;
    Some(text[..at].matches('\n').count() as u32 + 1)
}

/// 1-based line of the form `(KEYWORD NAME` (any whitespace between, NAME a whole word).
fn line_of_form(text: &str, keyword: &str, name: &str) -> Option<u32> {
    let mut from = 0;
    while let Some(i) = text[from..].find(keyword) {
        let at = from + i;
        let rest =
            text[at + keyword.len()..].trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        let word: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '(' && *c != ')')
            .collect();
        if word == name {
            return Some(text[..at].matches('\n').count() as u32 + 1);
        }
        from = at + keyword.len();
    }
    None
}

/// Deepest parenthesis nesting the parser is given (its recursion would exhaust the stack).
const MAX_NESTING: usize = 500;
/// Most parameters of an action, predicate or quantifier.
const MAX_PARAMS: usize = 64;

/// Inputs the parser cannot take without crashing: nesting deeper than [`MAX_NESTING`], numbers
/// too large for it.
fn precheck(text: &str) -> Result<()> {
    let mut depth = 0usize;
    let mut line = 1u32;
    for c in text.chars() {
        match c {
            '(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(err(
                        ErrorKind::Unsupported,
                        "",
                        format!("parentheses nested deeper than {MAX_NESTING}"),
                    )
                    .at_line(Some(line)));
                }
            }
            ')' => depth = depth.saturating_sub(1),
            '\n' => line += 1,
            _ => {}
        }
    }
    for (i, l) in text.lines().enumerate() {
        let longest = l
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .map(str::len)
            .max()
            .unwrap_or(0);
        if longest > 30 {
            return Err(err(
                ErrorKind::Unsupported,
                "",
                "a number with more than 30 digits",
            )
            .at_line(Some(i as u32 + 1)));
        }
    }
    Ok(())
}

fn syntax_error(text: &str, e: nom::Err<pddl::parsers::ParseError<'_>>, what: &str) -> DomainError {
    match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => {
            let frag: String = e
                .input
                .fragment()
                .chars()
                .take(60)
                .map(|c| if c.is_whitespace() { ' ' } else { c })
                .collect();
            let frag = frag.split_whitespace().collect::<Vec<_>>().join(" ");
            err(
                ErrorKind::Syntax,
                "",
                format!("not a PDDL {what}: cannot parse from here: {frag:?}"),
            )
            .at_line(Some(e.input.location_line()))
        }
        nom::Err::Incomplete(_) => err(
            ErrorKind::Syntax,
            "",
            format!("not a PDDL {what}: the text ends early (unbalanced parentheses?)"),
        )
        .at_line(Some(text.lines().count() as u32)),
    }
}

/// PDDL is case-insensitive; comments are dropped so that the parser and [`line_of`] see code;
/// line ends are `\n` (CR LF and lone CR too); a space goes between adjacent lists (`(a)(b)`)
/// and none before a `)`, which the parser would otherwise refuse.
fn normalise(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out: String = text
        .lines()
        .map(|l| match l.find(';') {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
        .to_ascii_lowercase()
        .replace(")(", ") (");
    // Blanks before `)` (not line ends: lines must keep their numbers).
    loop {
        let before = out.len();
        out = out.replace(" )", ")").replace("\t)", ")");
        if out.len() == before {
            return out;
        }
    }
}

/// Read and check a PDDL domain file.
///
/// # Errors
/// [`DomainError`] with the file, the line where known and the reason: unreadable file
/// ([`ErrorKind::Io`]), syntax, undeclared names, arity, unsupported features.
pub fn read_domain(path: &Path) -> Result<Domain> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(ErrorKind::Io, "", format!("cannot read: {e}")).in_file(path))?;
    parse_domain(&text).map_err(|e| e.in_file(path))
}

/// Read and check a PDDL problem file against `domain`.
///
/// # Errors
/// As [`read_domain`], for the problem's objects, initial state and goal.
pub fn read_problem(domain: &Domain, path: &Path) -> Result<Problem> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(ErrorKind::Io, "", format!("cannot read: {e}")).in_file(path))?;
    parse_problem(domain, &text).map_err(|e| e.in_file(path))
}

/// Parse and check a PDDL domain.
///
/// # Errors
/// [`DomainError`] (no file set) as for [`read_domain`].
pub fn parse_domain(text: &str) -> Result<Domain> {
    let text = normalise(text);
    precheck(&text)?;
    let ast = std::panic::catch_unwind(|| pddl::Domain::from_str(&text))
        .map_err(|_| {
            err(
                ErrorKind::Syntax,
                "",
                "not a PDDL domain: the parser failed on it",
            )
        })?
        .map_err(|e| syntax_error(&text, e, "domain"))?;
    let mut b = DomainBuilder {
        text: &text,
        d: Domain {
            name: ast.name().to_string(),
            types: vec![TypeDecl {
                name: OBJECT_TYPE.into(),
                parent: None,
            }],
            constants: Vec::new(),
            predicates: Vec::new(),
            actions: Vec::new(),
            axioms: Vec::new(),
        },
    };
    b.types(ast.types())?;
    if !ast.functions().is_empty() {
        // Only `total-cost` is tolerated (its increases are ignored); anything else would need
        // numeric planning.
        let text_fn = line_of(&text, "(:functions");
        let only_cost = ast
            .functions()
            .iter()
            .all(|f| format!("{f:?}").contains("total-cost"));
        if !only_cost {
            return Err(err(
                ErrorKind::Unsupported,
                ":functions",
                "numeric fluents are not supported (only (total-cost), which is ignored)",
            )
            .at_line(text_fn));
        }
    }
    for c in ast.constants().iter() {
        let t = b.type_of(c.type_(), ":constants")?;
        let name = c.value().to_string();
        if b.d.constants.iter().any(|(n, _)| *n == name) {
            return Err(err(
                ErrorKind::Duplicate,
                ":constants",
                format!("constant {name} declared twice"),
            )
            .at_line(line_of(&text, "(:constants")));
        }
        b.d.constants.push((name, t));
    }
    for p in ast.predicates().iter() {
        let name = p.name().to_string();
        let field = format!("predicate {name}");
        if b.d.predicate(&name).is_some() {
            return Err(err(ErrorKind::Duplicate, &field, "declared twice")
                .at_line(line_of(&text, "(:predicates")));
        }
        let params = b.params(p.variables(), &field)?;
        b.d.predicates.push(PredicateDecl {
            name,
            params,
            derived: false,
        });
    }
    // Derived predicates first (their heads must be known before any body or action uses them).
    for s in ast.structure().iter() {
        if let pddl::StructureDef::Derived(dp) = s {
            let name = dp.predicate().name().to_string();
            let field = format!("derived {name}");
            let line = line_of(&text, &format!("(:derived ({name}"));
            let params = b
                .params(dp.predicate().variables(), &field)
                .map_err(|e| e.at_line(line))?;
            match b.d.predicate(&name) {
                Some(p) => {
                    if b.d.predicates[p].params.len() != params.len() {
                        return Err(err(
                            ErrorKind::Arity,
                            &field,
                            format!(
                                "takes {} arguments as declared, {} here",
                                b.d.predicates[p].params.len(),
                                params.len()
                            ),
                        )
                        .at_line(line));
                    }
                    b.d.predicates[p].derived = true;
                }
                None => b.d.predicates.push(PredicateDecl {
                    name,
                    params,
                    derived: true,
                }),
            }
        }
    }
    for s in ast.structure().iter() {
        match s {
            pddl::StructureDef::Action(a) => {
                let name = a.symbol().to_string();
                let line = line_of_form(&text, "(:action", &name);
                let action = b.action(a, &name).map_err(|e| e.at_line(line))?;
                if b.d.action(&name).is_some() {
                    return Err(err(
                        ErrorKind::Duplicate,
                        &format!("action {name}"),
                        "declared twice",
                    )
                    .at_line(line));
                }
                b.d.actions.push(action);
            }
            pddl::StructureDef::Derived(dp) => {
                let name = dp.predicate().name().to_string();
                let field = format!("derived {name}");
                let line = line_of_form(&text, "(:derived", &name);
                let pred = b.d.predicate(&name).expect("declared in the first pass");
                let params = b
                    .params(dp.predicate().variables(), &field)
                    .map_err(|e| e.at_line(line))?;
                let body = b
                    .gd(dp.expression(), &params, &field, false)
                    .map_err(|e| e.at_line(line))?;
                b.d.axioms.push(Axiom { pred, params, body });
            }
            pddl::StructureDef::DurativeAction(_) => {
                return Err(err(
                    ErrorKind::Unsupported,
                    ":durative-action",
                    "durative actions are not supported",
                )
                .at_line(line_of(&text, "(:durative-action")))
            }
        }
    }
    crate::ground::strata(&b.d).map_err(|e| e.at_line(line_of(&text, "(:derived")))?;
    Ok(b.d)
}

/// Parse and check a PDDL problem against `domain`.
///
/// # Errors
/// [`DomainError`] (no file set): syntax, a domain name that differs, undeclared types,
/// objects or predicates, arity, derived predicates in the initial state.
pub fn parse_problem(domain: &Domain, text: &str) -> Result<Problem> {
    let text = normalise(text);
    precheck(&text)?;
    let ast = std::panic::catch_unwind(|| pddl::Problem::from_str(&text))
        .map_err(|_| {
            err(
                ErrorKind::Syntax,
                "",
                "not a PDDL problem: the parser failed on it",
            )
        })?
        .map_err(|e| syntax_error(&text, e, "problem"))?;
    if **ast.domain() != *domain.name {
        return Err(err(
            ErrorKind::Undeclared,
            ":domain",
            format!(
                "the problem is for domain {}, the domain file defines {}",
                ast.domain(),
                domain.name
            ),
        )
        .at_line(line_of(&text, "(:domain")));
    }
    let mut b = DomainBuilder {
        text: &text,
        d: domain.clone(),
    };
    let mut objects = domain.constants.clone();
    for o in ast.objects().iter() {
        let t = b
            .type_of(o.type_(), ":objects")
            .map_err(|e| e.at_line(line_of(&text, "(:objects")))?;
        let name = o.value().to_string();
        if let Some((_, t0)) = objects.iter().find(|(n, _)| *n == name) {
            // An object repeated with the same type (or as a constant of it) is tolerated.
            if *t0 != t {
                return Err(err(
                    ErrorKind::Duplicate,
                    ":objects",
                    format!(
                        "object {name} declared twice, as {} and as {}",
                        domain.types[*t0].name, domain.types[t].name
                    ),
                )
                .at_line(line_of(&text, "(:objects")));
            }
            continue;
        }
        objects.push((name, t));
    }
    b.d.constants = objects.clone();
    let init_line = line_of(&text, "(:init");
    let mut init = Vec::new();
    for el in ast.init().iter() {
        match el {
            pddl::InitElement::Literal(pddl::Literal::AtomicFormula(af)) => match af {
                pddl::AtomicFormula::Predicate(p) => {
                    let atom = b
                        .atom(
                            p.predicate().as_ref(),
                            p.values()
                                .iter()
                                .map(|n| Term::Object(n.to_string()))
                                .collect(),
                            &[],
                            ":init",
                        )
                        .map_err(|e| e.at_line(init_line))?;
                    if domain.predicates[atom.pred].derived {
                        return Err(err(
                            ErrorKind::Type,
                            ":init",
                            format!(
                                "{} is a derived predicate: it cannot be set",
                                domain.predicates[atom.pred].name
                            ),
                        )
                        .at_line(init_line));
                    }
                    let args = atom
                        .args
                        .into_iter()
                        .map(|t| match t {
                            Term::Object(o) => o,
                            Term::Var(v) => v,
                        })
                        .collect();
                    init.push((atom.pred, args));
                }
                // Equalities hold by name; Fast Downward ignores them in :init too.
                pddl::AtomicFormula::Equality(_) => {}
            },
            // Closed world: negative initial literals say nothing new.
            pddl::InitElement::Literal(pddl::Literal::NotAtomicFormula(_)) => {}
            // `(= (total-cost) 0)`: action costs are not used.
            pddl::InitElement::IsValue(..) => {}
            pddl::InitElement::At(..) | pddl::InitElement::IsObject(..) => {
                return Err(err(
                    ErrorKind::Unsupported,
                    ":init",
                    "timed initial literals and object fluents are not supported",
                )
                .at_line(init_line))
            }
        }
    }
    let goal_line = line_of(&text, "(:goal");
    let goal = b
        .pre_gds(ast.goals(), &[], "goal")
        .map_err(|e| e.at_line(goal_line))?;
    Ok(Problem {
        name: ast.name().to_string(),
        objects,
        init,
        goal,
    })
}

struct DomainBuilder<'t> {
    #[allow(dead_code)]
    text: &'t str,
    d: Domain,
}

impl DomainBuilder<'_> {
    fn types(&mut self, types: &pddl::Types) -> Result<()> {
        let line = line_of(self.text, "(:types");
        // Names first (a parent may be declared after its children, or not at all).
        let mut pending = Vec::new();
        for t in types.iter() {
            let name = t.value().to_string();
            let parents: Vec<String> = match t.type_() {
                pddl::Type::Exactly(p) => vec![p.to_string()],
                pddl::Type::EitherOf(ps) => ps.iter().map(|p| p.to_string()).collect(),
            };
            self.declare_type(&name);
            for p in &parents {
                self.declare_type(p);
            }
            pending.push((name, parents));
        }
        for (name, parents) in pending {
            let id = self.d.type_id(&name).expect("declared above");
            if name == OBJECT_TYPE {
                continue;
            }
            let parent = self.d.type_id(&parents[0]).expect("declared above");
            if let Some(p0) = self.d.types[id].parent.filter(|p| *p != 0 && *p != parent) {
                return Err(err(
                    ErrorKind::Duplicate,
                    ":types",
                    format!(
                        "type {name} declared twice, under {} and under {}",
                        self.d.types[p0].name, self.d.types[parent].name
                    ),
                )
                .at_line(line));
            }
            if self.d.is_subtype(parent, id) {
                return Err(err(
                    ErrorKind::Type,
                    ":types",
                    format!("type {name} is its own ancestor"),
                )
                .at_line(line));
            }
            self.d.types[id].parent = Some(parent);
        }
        Ok(())
    }

    fn declare_type(&mut self, name: &str) {
        if self.d.type_id(name).is_none() {
            self.d.types.push(TypeDecl {
                name: name.into(),
                parent: Some(0),
            });
        }
    }

    fn type_of(&self, t: &pddl::Type, field: &str) -> Result<TypeId> {
        let names = self.types_of(t, field)?;
        Ok(names[0])
    }

    fn types_of(&self, t: &pddl::Type, field: &str) -> Result<Vec<TypeId>> {
        let names: Vec<String> = match t {
            pddl::Type::Exactly(p) => vec![p.to_string()],
            pddl::Type::EitherOf(ps) => ps.iter().map(|p| p.to_string()).collect(),
        };
        names
            .iter()
            .map(|n| {
                self.d.type_id(n).ok_or_else(|| {
                    err(
                        ErrorKind::Undeclared,
                        field,
                        format!("undeclared type {n} (declare it in :types)"),
                    )
                })
            })
            .collect()
    }

    fn params(&self, vars: &pddl::TypedVariables, field: &str) -> Result<Vec<Param>> {
        if vars.len() > MAX_PARAMS {
            return Err(err(
                ErrorKind::Unsupported,
                field,
                format!("{} parameters (at most {MAX_PARAMS})", vars.len()),
            ));
        }
        let mut out: Vec<Param> = Vec::new();
        for v in vars.iter() {
            let name = v.value().to_string().trim_start_matches('?').to_string();
            if out.iter().any(|p| p.name == name) {
                return Err(err(
                    ErrorKind::Duplicate,
                    field,
                    format!("parameter ?{name} declared twice"),
                ));
            }
            out.push(Param {
                name,
                types: self.types_of(v.type_(), field)?,
            });
        }
        Ok(out)
    }

    fn action(&self, a: &pddl::ActionDefinition, name: &str) -> Result<ActionSchema> {
        let field = format!("action {name}");
        let params = self.params(a.parameters(), &field)?;
        let precondition =
            self.pre_gds(a.precondition(), &params, &format!("{field}: precondition"))?;
        let mut effects = Vec::new();
        if let Some(e) = a.effect() {
            for c in e.iter() {
                self.c_effect(c, &params, &format!("{field}: effect"), &mut effects)?;
            }
        }
        Ok(ActionSchema {
            name: name.to_string(),
            params,
            precondition,
            effects,
        })
    }

    fn pre_gds(
        &self,
        g: &pddl::PreconditionGoalDefinitions,
        scope: &[Param],
        field: &str,
    ) -> Result<Formula> {
        let mut parts = Vec::new();
        for p in g.iter() {
            parts.push(self.pre_gd(p, scope, field)?);
        }
        Ok(match parts.len() {
            0 => Formula::True,
            1 => parts.pop().expect("one"),
            _ => Formula::And(parts),
        })
    }

    fn pre_gd(
        &self,
        g: &pddl::PreconditionGoalDefinition,
        scope: &[Param],
        field: &str,
    ) -> Result<Formula> {
        match g {
            pddl::PreconditionGoalDefinition::Preference(pddl::PreferenceGoalDefinition::Goal(
                gd,
            )) => self.gd(gd, scope, field, true),
            pddl::PreconditionGoalDefinition::Preference(
                pddl::PreferenceGoalDefinition::Preference(_),
            ) => Err(err(
                ErrorKind::Unsupported,
                field,
                "preferences are not supported",
            )),
            pddl::PreconditionGoalDefinition::Forall(vars, inner) => {
                let params = self.params(vars, field)?;
                let scope2 = extend(scope, &params);
                Ok(Formula::Forall(
                    params,
                    Box::new(self.pre_gds(inner, &scope2, field)?),
                ))
            }
        }
    }

    fn term(&self, t: &pddl::Term, scope: &[Param], field: &str) -> Result<Term> {
        match t {
            pddl::Term::Variable(v) => {
                let name = v.to_string().trim_start_matches('?').to_string();
                if !scope.iter().any(|p| p.name == name) {
                    return Err(err(
                        ErrorKind::Undeclared,
                        field,
                        format!("undeclared variable ?{name}"),
                    ));
                }
                Ok(Term::Var(name))
            }
            pddl::Term::Name(n) => {
                let name = n.to_string();
                if !self.d.constants.iter().any(|(c, _)| *c == name) {
                    return Err(err(
                        ErrorKind::Undeclared,
                        field,
                        format!("unknown object {name} (not a constant or object)"),
                    ));
                }
                Ok(Term::Object(name))
            }
            pddl::Term::Function(_) => Err(err(
                ErrorKind::Unsupported,
                field,
                "function terms (object fluents) are not supported",
            )),
        }
    }

    fn atom(&self, pred: &str, args: Vec<Term>, scope: &[Param], field: &str) -> Result<Atom> {
        let p = self.d.predicate(pred).ok_or_else(|| {
            err(
                ErrorKind::Undeclared,
                field,
                format!("unknown predicate {pred} (declare it in :predicates)"),
            )
        })?;
        let decl = &self.d.predicates[p];
        if decl.params.len() != args.len() {
            return Err(err(
                ErrorKind::Arity,
                field,
                format!(
                    "{pred} takes {} arguments, got {} in ({pred}{})",
                    decl.params.len(),
                    args.len(),
                    args.iter()
                        .map(|a| match a {
                            Term::Var(v) => format!(" ?{v}"),
                            Term::Object(o) => format!(" {o}"),
                        })
                        .collect::<String>()
                ),
            ));
        }
        // Objects named directly must exist; variables were checked by `term`.
        for a in &args {
            if let Term::Object(o) = a {
                if !self.d.constants.iter().any(|(c, _)| c == o) {
                    return Err(err(
                        ErrorKind::Undeclared,
                        field,
                        format!("unknown object {o} in ({pred} ...)"),
                    ));
                }
            }
            if let Term::Var(v) = a {
                if !scope.iter().any(|p| p.name == *v) {
                    return Err(err(
                        ErrorKind::Undeclared,
                        field,
                        format!("undeclared variable ?{v}"),
                    ));
                }
            }
        }
        Ok(Atom { pred: p, args })
    }

    fn atomic(
        &self,
        af: &pddl::AtomicFormula<pddl::Term>,
        scope: &[Param],
        field: &str,
    ) -> Result<Formula> {
        match af {
            pddl::AtomicFormula::Equality(e) => Ok(Formula::Equal(
                self.term(e.first(), scope, field)?,
                self.term(e.second(), scope, field)?,
            )),
            pddl::AtomicFormula::Predicate(p) => {
                let args = p
                    .values()
                    .iter()
                    .map(|t| self.term(t, scope, field))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Formula::Atom(self.atom(
                    p.predicate().as_ref(),
                    args,
                    scope,
                    field,
                )?))
            }
        }
    }

    fn gd(
        &self,
        g: &pddl::GoalDefinition,
        scope: &[Param],
        field: &str,
        _top: bool,
    ) -> Result<Formula> {
        use pddl::GoalDefinition as G;
        Ok(match g {
            G::AtomicFormula(af) => self.atomic(af, scope, field)?,
            G::Literal(pddl::Literal::AtomicFormula(af)) => self.atomic(af, scope, field)?,
            G::Literal(pddl::Literal::NotAtomicFormula(af)) => {
                Formula::Not(Box::new(self.atomic(af, scope, field)?))
            }
            G::And(v) => Formula::And(
                v.iter()
                    .map(|g| self.gd(g, scope, field, false))
                    .collect::<Result<_>>()?,
            ),
            G::Or(v) => Formula::Or(
                v.iter()
                    .map(|g| self.gd(g, scope, field, false))
                    .collect::<Result<_>>()?,
            ),
            G::Not(g) => Formula::Not(Box::new(self.gd(g, scope, field, false)?)),
            G::Imply(a, b) => Formula::Imply(
                Box::new(self.gd(a, scope, field, false)?),
                Box::new(self.gd(b, scope, field, false)?),
            ),
            G::Exists(vars, g) => {
                let params = self.params(vars, field)?;
                let s = extend(scope, &params);
                Formula::Exists(params, Box::new(self.gd(g, &s, field, false)?))
            }
            G::ForAll(vars, g) => {
                let params = self.params(vars, field)?;
                let s = extend(scope, &params);
                Formula::Forall(params, Box::new(self.gd(g, &s, field, false)?))
            }
            G::FluentComparison(_) => {
                return Err(err(
                    ErrorKind::Unsupported,
                    field,
                    "numeric comparisons are not supported",
                ))
            }
        })
    }

    fn p_effect(
        &self,
        p: &pddl::PrimitiveEffect,
        scope: &[Param],
        field: &str,
        out: &mut Vec<Effect>,
    ) -> Result<()> {
        let as_atom = |af: &pddl::AtomicFormula<pddl::Term>| -> Result<Atom> {
            match self.atomic(af, scope, field)? {
                Formula::Atom(a) => {
                    if self.d.predicates[a.pred].derived {
                        return Err(err(
                            ErrorKind::Type,
                            field,
                            format!(
                                "{} is a derived predicate: an action cannot set it",
                                self.d.predicates[a.pred].name
                            ),
                        ));
                    }
                    Ok(a)
                }
                _ => Err(err(
                    ErrorKind::Syntax,
                    field,
                    "an equality cannot be an effect",
                )),
            }
        };
        match p {
            pddl::PrimitiveEffect::AtomicFormula(af) => out.push(Effect::Add(as_atom(af)?)),
            pddl::PrimitiveEffect::NotAtomicFormula(af) => out.push(Effect::Delete(as_atom(af)?)),
            // Action costs are not used: plans are unit cost.
            pddl::PrimitiveEffect::AssignNumericFluent(..) => {}
            pddl::PrimitiveEffect::AssignObjectFluent(..) => {
                return Err(err(
                    ErrorKind::Unsupported,
                    field,
                    "object fluents are not supported",
                ))
            }
        }
        Ok(())
    }

    fn c_effect(
        &self,
        c: &pddl::ConditionalEffect,
        scope: &[Param],
        field: &str,
        out: &mut Vec<Effect>,
    ) -> Result<()> {
        match c {
            pddl::ConditionalEffect::Effect(p) => self.p_effect(p, scope, field, out),
            pddl::ConditionalEffect::Forall(f) => {
                let params = self.params(&f.variables, field)?;
                let s = extend(scope, &params);
                let mut inner = Vec::new();
                for c in f.effects.iter() {
                    self.c_effect(c, &s, field, &mut inner)?;
                }
                out.push(Effect::Forall(params, inner));
                Ok(())
            }
            pddl::ConditionalEffect::When(w) => {
                let cond = self.gd(&w.condition, scope, field, false)?;
                let mut inner = Vec::new();
                match &w.effect {
                    pddl::EffectCondition::Single(p) => {
                        self.p_effect(p, scope, field, &mut inner)?
                    }
                    pddl::EffectCondition::All(ps) => {
                        for p in ps {
                            self.p_effect(p, scope, field, &mut inner)?;
                        }
                    }
                }
                out.push(Effect::When(cond, inner));
                Ok(())
            }
        }
    }
}

fn extend(scope: &[Param], more: &[Param]) -> Vec<Param> {
    let mut s: Vec<Param> = scope
        .iter()
        .filter(|p| !more.iter().any(|m| m.name == p.name))
        .cloned()
        .collect();
    s.extend(more.iter().cloned());
    s
}
