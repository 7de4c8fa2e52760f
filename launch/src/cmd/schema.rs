//! `clea schema`: the JSON Schema of a file a user writes, from its Rust type (schemars).

use crate::error::CliError;
use clap::{Args, ValueEnum};

/// Print the JSON Schema (draft 2020-12) of a file kind, generated from the Rust type that reads
/// it, so the schema and the loader cannot disagree on fields, types or defaults.
///
/// Editors with the YAML language server validate and complete a file that starts with
/// `# yaml-language-server: $schema=<path to the printed schema>`; the shipped schemas are in
/// `launch/schemas/` (a test checks that they equal this command's output). The schema checks
/// structure; `clea run --check` also checks values against each other (an endpoint a module
/// names exists, a pose's frame, time limits).
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which file: `launch` (an actor launch file: bus, actors, controller, agent, models; also
    /// what `clea sim --agent` reads), `robot` (a ROS 2 robot launch file), `scenario` (a
    /// scenario on a world vocabulary, e.g. the CLEA kitchen's), `domain-scenario` (a scenario
    /// of a domain written as data: binding + PDDL problem), `world` (a world vocabulary file,
    /// a scenario's `world_file:`) or `binding` (a domain's skill binding).
    #[arg(value_enum)]
    kind: SchemaKind,
}

/// A kind of file a user writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    /// An actor launch file (`crate::launchfile::LaunchFile`).
    Launch,
    /// A ROS 2 robot launch file (`clea_skills::ros2::config::Ros2LaunchFile`, with this
    /// build's perception section).
    Robot,
    /// A scenario on a world vocabulary (`clea_sim::scenario`).
    Scenario,
    /// A scenario of a domain written as data (`clea_sim::domain_world`).
    DomainScenario,
    /// A world vocabulary (`clea_bus::msg::WorldVocabulary`).
    World,
    /// A domain's skill binding (`clea_domain::Binding`).
    Binding,
}

/// The schema of `kind`, as pretty JSON.
pub fn schema_of(kind: SchemaKind) -> String {
    let schema = match kind {
        SchemaKind::Launch => schemars::schema_for!(crate::launchfile::LaunchFile),
        SchemaKind::Robot => schemars::schema_for!(
            clea_skills::ros2::config::Ros2LaunchFile<crate::perception::PerceptionSection>
        ),
        SchemaKind::Scenario => clea_sim::scenario::schema(),
        SchemaKind::DomainScenario => clea_sim::domain_world::schema(),
        SchemaKind::World => schemars::schema_for!(clea_bus::msg::WorldVocabulary),
        SchemaKind::Binding => schemars::schema_for!(clea_domain::Binding),
    };
    serde_json::to_string_pretty(&schema).expect("a schema serializes") + "\n"
}

/// Run `clea schema`.
pub async fn run(args: SchemaArgs) -> Result<(), CliError> {
    print!("{}", schema_of(args.kind));
    Ok(())
}
