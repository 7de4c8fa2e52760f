//! # clea-domain: domains as data
//!
//! The runtime knows no domain at compile time: a robot's skills, the predicates they read and
//! change, and the world's objects come from a PDDL domain and problem loaded at run time. This
//! crate is the one semantics of them, with no bus and no async runtime, so the simulator, the
//! critic, the planner and call validation share it and test it alone.
//!
//! - [`parse`]: PDDL text → the checked lifted model ([`Domain`], [`Problem`]); `:typing`,
//!   negative and disjunctive preconditions (`not`, `or`, `imply`), `:equality`, conditional
//!   effects (`when`), `forall`/`exists` in preconditions and effects, `:derived-predicates`.
//!   Errors name the file, the line and the reason ([`DomainError`]).
//! - [`ground`]: grounding with static folding and relaxed reachability pruning → a [`Task`] of
//!   ground atoms, actions and stratified axioms; evaluation ([`Cond::holds`]) and application
//!   ([`Task::apply`]) of actions on a [`State`].
//! - [`binding`]: the skill binding (YAML beside the domain): per action the acting-robot
//!   parameter, a description for models and a default timeout; world dynamics; the observation
//!   model.
//! - [`call`]: skill calls validated against a bound domain (name, parameters, object names and
//!   types), the rule critic's check naming the unmet precondition, the JSON schema of calls.
//! - [`complement`]: complement atoms ("`a` is false" as an atom), so a state can leave a fact
//!   open for a planner under partial observability ([`Task::complemented`]).
//! - [`required`]: goals that are actions which must occur, in order, compiled into the domain.
//! - [`relax`]: the delete relaxation, reachability and the FF heuristic with preferred operators.
//! - [`search`]: lazy greedy best-first search as Fast Downward's `lama-first` (minus
//!   landmarks) for any goal ([`search::plan_for`]), anytime improvement ([`search::improve`]),
//!   bounded by a deadline, a cancellation flag and memory ([`Limits`]).
//!
//! ```
//! let domain = clea_domain::parse_domain(r#"
//!   (define (domain switch) (:requirements :typing)
//!     (:types lamp)
//!     (:predicates (on ?l - lamp))
//!     (:action switch_on :parameters (?l - lamp)
//!       :precondition (not (on ?l)) :effect (on ?l)))"#).unwrap();
//! let problem = clea_domain::parse_problem(&domain, r#"
//!   (define (problem p) (:domain switch) (:objects a b - lamp)
//!     (:init (on a)) (:goal (and (on a) (on b))))"#).unwrap();
//! let task = clea_domain::Task::ground(&domain, &problem).unwrap();
//! let plan = clea_domain::search::plan(&task, &Default::default()).unwrap();
//! assert_eq!(task.action_text(plan.actions[0]), "(switch_on b)");
//! ```
#![deny(missing_docs)]

pub mod binding;
pub mod call;
pub mod complement;
pub mod error;
pub mod ground;
pub mod lifted;
pub mod parse;
pub mod relax;
pub mod required;
pub mod search;
pub mod state;

pub use binding::{read_bound_domain, Binding, BoundDomain};
pub use error::{DomainError, ErrorKind};
pub use ground::{AtomId, Cond, GroundError, Task};
pub use lifted::{Domain, Problem};
pub use parse::{parse_domain, parse_problem, read_domain, read_problem};
pub use search::{Limits, Plan, SearchError};
pub use state::State;
