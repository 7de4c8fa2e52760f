//! The `perception:` section of launch and robot files: the detector and the cameras it serves
//! ([`clea_perception::actor::PerceptionConfig`], the same fields as a `clea perceive` config),
//! started by `clea run` in the process the file launches.
//!
//! Relative paths (the model, the runtime library) are relative to the file. A robot file's
//! section may only name that robot's cameras, since the adapter beside it is what publishes
//! them. A `clea` built without the `perception` feature reads the section and refuses to run it.

use std::path::Path;

/// The section's type: perception's own config.
#[cfg(feature = "perception")]
pub type PerceptionSection = clea_perception::actor::PerceptionConfig;

/// Without the `perception` feature: any value, refused by [`check`].
#[cfg(not(feature = "perception"))]
pub type PerceptionSection = serde_json::Value;

/// Check a file's section and resolve its paths against the file's folder; `cameras` are the
/// robot's camera names when the file is a robot file (its section may name only those).
///
/// # Errors
/// One line `file: perception.<field>: why`: a camera of another robot or an unknown camera, a
/// model file that does not exist, a field that does not check.
#[cfg(feature = "perception")]
pub fn check(
    file: &Path,
    section: &mut PerceptionSection,
    robot: Option<(&str, Vec<&str>)>,
) -> Result<(), String> {
    let at = |field: &str, why: &dyn std::fmt::Display| {
        format!("{}: perception.{field}: {why}", file.display())
    };
    section.resolve_paths(file.parent().unwrap_or(Path::new(".")));
    section.check().map_err(|e| match e {
        clea_perception::Error::Config { field, reason, .. } => at(&field, &reason),
        e => at("cameras", &e),
    })?;
    if !section.detector.model.is_file() {
        return Err(at(
            "detector.model",
            &format!("{}: no such file", section.detector.model.display()),
        ));
    }
    if let Some((name, cameras)) = robot {
        for (i, c) in section.cameras.iter().enumerate() {
            if c.robot != name {
                return Err(at(
                    &format!("cameras[{i}].robot"),
                    &format!(
                        "{} is not this file's robot {name} (a robot file's perception serves its own cameras)",
                        c.robot
                    ),
                ));
            }
            if !cameras.contains(&c.camera.as_str()) {
                return Err(at(
                    &format!("cameras[{i}].camera"),
                    &format!(
                        "{} is not among robot {name}'s cameras [{}]",
                        c.camera,
                        cameras.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Without the `perception` feature a section cannot run: refused when the file loads.
///
/// # Errors
/// Always, naming the file and how to get a build that has perception.
#[cfg(not(feature = "perception"))]
pub fn check(
    file: &Path,
    _section: &mut PerceptionSection,
    _robot: Option<(&str, Vec<&str>)>,
) -> Result<(), String> {
    Err(format!(
        "{}: perception: this clea was built without perception (build clea-launch with its \
         default feature `perception`)",
        file.display()
    ))
}

/// One line for `--check` and the start-up message: the detector and its cameras.
#[cfg(feature = "perception")]
pub fn summary(section: &PerceptionSection) -> String {
    let cams: Vec<String> = section
        .cameras
        .iter()
        .map(|c| {
            let depth = if c.depth { " + depth" } else { "" };
            let obs = if c.observer.is_some() {
                " -> observation"
            } else {
                ""
            };
            format!("{}/{}{depth}{obs}", c.robot, c.camera)
        })
        .collect();
    format!(
        "perception {} ({}) on [{}]",
        section.detector.family.as_str(),
        section.detector.model.display(),
        cams.join(", ")
    )
}

/// Without perception there is nothing to summarise (a section was refused at load).
#[cfg(not(feature = "perception"))]
pub fn summary(_section: &PerceptionSection) -> String {
    String::new()
}

/// A running perception actor (nothing without the feature).
#[cfg(feature = "perception")]
pub type Running = clea_perception::actor::PerceptionActor;

/// A running perception actor (nothing without the feature).
#[cfg(not(feature = "perception"))]
pub type Running = ();

/// Load the detector and serve the cameras of `section` on `bus`.
///
/// # Errors
/// [`CliError::Input`](crate::error::CliError::Input) naming the file when the model or the
/// runtime does not load (a bad model, a missing ONNX Runtime library, a provider that is not
/// there without fallback); [`CliError::Runtime`](crate::error::CliError::Runtime) for bus
/// errors.
#[cfg(feature = "perception")]
pub async fn start(
    bus: &clea_bus::Bus,
    file: &Path,
    section: &PerceptionSection,
) -> Result<Running, crate::error::CliError> {
    use crate::error::CliError;
    use clea_perception::ErrorKind;
    clea_perception::actor::PerceptionActor::spawn(bus, section)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::Bus => CliError::Runtime(e.into()),
            _ => CliError::Input(format!("{}: perception: {e}", file.display())),
        })
}

/// Without the feature a section never gets here ([`check`] refused it).
#[cfg(not(feature = "perception"))]
pub async fn start(
    _bus: &clea_bus::Bus,
    file: &Path,
    _section: &PerceptionSection,
) -> Result<Running, crate::error::CliError> {
    Err(crate::error::CliError::Input(
        check(file, &mut serde_json::Value::Null, None).unwrap_err(),
    ))
}
