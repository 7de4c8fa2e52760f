//! The lifted model: a PDDL domain (types, constants, predicates, action schemas, derived
//! predicates) and a problem (objects, initial state, goal), with every name resolved and checked.
//!
//! Built from the `pddl` crate's syntax tree by [`crate::parse`]; names are lower-cased, since
//! PDDL is case-insensitive (as Fast Downward reads it).

/// Index of a type in [`Domain::types`].
pub type TypeId = usize;
/// Index of a predicate in [`Domain::predicates`].
pub type PredId = usize;

/// The root type every object belongs to.
pub const OBJECT_TYPE: &str = "object";

/// A declared type and its parent (`None` only for `object`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeDecl {
    /// Name, e.g. `robot`.
    pub name: String,
    /// Parent type.
    pub parent: Option<TypeId>,
}

/// A parameter (action, quantifier, predicate): a variable name and the types it may take
/// (more than one for `(either a b)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Variable name without `?`, e.g. `r`.
    pub name: String,
    /// Allowed types (any of them).
    pub types: Vec<TypeId>,
}

/// A declared predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredicateDecl {
    /// Name, e.g. `holding`.
    pub name: String,
    /// Parameters.
    pub params: Vec<Param>,
    /// Defined by `:derived` axioms instead of by action effects.
    pub derived: bool,
}

/// A term of an atom: a variable of the enclosing scope or an object (constant) name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Term {
    /// `?name` (stored without `?`).
    Var(String),
    /// An object or constant.
    Object(String),
}

/// `(pred t1 t2 ...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atom {
    /// Predicate.
    pub pred: PredId,
    /// Arguments, in the predicate's parameter order.
    pub args: Vec<Term>,
}

/// A goal description (PDDL `<GD>`): preconditions, conditions of conditional effects, goals,
/// bodies of derived predicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Formula {
    /// The empty conjunction.
    True,
    /// An atom.
    Atom(Atom),
    /// `(= a b)`.
    Equal(Term, Term),
    /// `(not f)`.
    Not(Box<Formula>),
    /// `(and ...)`.
    And(Vec<Formula>),
    /// `(or ...)`.
    Or(Vec<Formula>),
    /// `(imply a b)`.
    Imply(Box<Formula>, Box<Formula>),
    /// `(exists (params) f)`.
    Exists(Vec<Param>, Box<Formula>),
    /// `(forall (params) f)`.
    Forall(Vec<Param>, Box<Formula>),
}

/// An effect (PDDL `<effect>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The atom becomes true.
    Add(Atom),
    /// The atom becomes false.
    Delete(Atom),
    /// `(forall (params) effects)`.
    Forall(Vec<Param>, Vec<Effect>),
    /// `(when condition effects)`: applied only where the condition holds before the action.
    When(Formula, Vec<Effect>),
}

/// An action schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionSchema {
    /// Name, e.g. `pick_from`.
    pub name: String,
    /// Parameters, in call order.
    pub params: Vec<Param>,
    /// Precondition (`True` when absent).
    pub precondition: Formula,
    /// Effects.
    pub effects: Vec<Effect>,
}

/// A `:derived` axiom: `head` holds wherever `body` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axiom {
    /// The derived predicate.
    pub pred: PredId,
    /// Its parameters (the variables of the head).
    pub params: Vec<Param>,
    /// Body.
    pub body: Formula,
}

/// A PDDL domain, resolved and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// `(domain NAME)`.
    pub name: String,
    /// Types; index 0 is `object`.
    pub types: Vec<TypeDecl>,
    /// Domain constants and their type.
    pub constants: Vec<(String, TypeId)>,
    /// Predicates (derived ones included).
    pub predicates: Vec<PredicateDecl>,
    /// Action schemas.
    pub actions: Vec<ActionSchema>,
    /// Derived-predicate axioms.
    pub axioms: Vec<Axiom>,
}

impl Domain {
    /// The type named `name`.
    pub fn type_id(&self, name: &str) -> Option<TypeId> {
        self.types.iter().position(|t| t.name == name)
    }

    /// The predicate named `name`.
    pub fn predicate(&self, name: &str) -> Option<PredId> {
        self.predicates.iter().position(|p| p.name == name)
    }

    /// The action schema named `name`.
    pub fn action(&self, name: &str) -> Option<&ActionSchema> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// Whether `t` is `ancestor` or one of its subtypes.
    pub fn is_subtype(&self, mut t: TypeId, ancestor: TypeId) -> bool {
        loop {
            if t == ancestor {
                return true;
            }
            match self.types[t].parent {
                Some(p) => t = p,
                None => return false,
            }
        }
    }

    /// Whether an object of type `t` may fill a parameter of `types`.
    pub fn fits(&self, t: TypeId, types: &[TypeId]) -> bool {
        types.iter().any(|&a| self.is_subtype(t, a))
    }

    /// Predicates that some action effect changes (the others are static).
    pub fn fluent_predicates(&self) -> Vec<bool> {
        fn mark(e: &[Effect], out: &mut [bool]) {
            for e in e {
                match e {
                    Effect::Add(a) | Effect::Delete(a) => out[a.pred] = true,
                    Effect::Forall(_, e) | Effect::When(_, e) => mark(e, out),
                }
            }
        }
        let mut out = vec![false; self.predicates.len()];
        for a in &self.actions {
            mark(&a.effects, &mut out);
        }
        out
    }
}

/// A PDDL problem over a [`Domain`], resolved and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `(problem NAME)`.
    pub name: String,
    /// Every object: the domain's constants first, then the problem's objects.
    pub objects: Vec<(String, TypeId)>,
    /// Initial atoms (closed world: all others are false), arguments are object names.
    pub init: Vec<(PredId, Vec<String>)>,
    /// Goal.
    pub goal: Formula,
}
