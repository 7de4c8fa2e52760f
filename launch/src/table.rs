//! The per-episode table and the summary line printed by `clea sim`.

use clea_agent::report::SuiteReport;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

/// Width of the tables when the output is no terminal (a pipe, a file, CI logs) and `COLUMNS`
/// does not say, columns.
pub const DEFAULT_WIDTH: u16 = 100;

/// Print `report` on stdout: one pretty JSON object with `json`, else [`render`]'s tables.
///
/// # Errors
/// [`crate::error::CliError::Runtime`] when the report does not serialize.
pub fn print(report: &SuiteReport, json: bool) -> Result<(), crate::error::CliError> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).map_err(anyhow::Error::from)?
        );
    } else {
        print!("{}", render(report));
    }
    Ok(())
}

/// Render `report` as a table of counts, a table of each episode's reason (wrapped), and a
/// summary line. Both tables fit the terminal, or `COLUMNS`, or [`DEFAULT_WIDTH`] columns.
/// The model columns appear only when a module called a model.
pub fn render(report: &SuiteReport) -> String {
    let new_table = || {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        if t.width().is_none() {
            let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
            t.set_width(columns.unwrap_or(DEFAULT_WIDTH));
        }
        t
    };
    let mut t = new_table();
    let models = report.episodes.iter().any(|e| e.model_calls > 0);
    let teams = report.episodes.iter().any(|e| e.team.is_some());
    // Short headers, so that a suite fits 100 columns: skill failures, invalid calls, critic
    // rejections, replans, perturbations fired.
    let mut header = vec![
        "scenario", "ok", "score", "steps", "fail", "inval", "rej", "replan", "pert",
    ];
    if teams {
        header.insert(0, "team");
    }
    if models {
        header.extend(["calls", "tokens"]);
    }
    t.set_header(header);
    let mut reasons = new_table();
    reasons.set_header([if teams { "team" } else { "scenario" }, "reason"]);
    for e in &report.episodes {
        let mut row = vec![
            e.scenario.clone(),
            if e.success { "yes" } else { "NO" }.to_string(),
            format!("{:.2}", e.score),
            e.steps.to_string(),
            e.skill_failures.to_string(),
            e.invalid_calls.to_string(),
            e.critic_rejections.to_string(),
            e.replans.to_string(),
            e.perturbations.to_string(),
        ];
        if models {
            row.push(e.model_calls.to_string());
            row.push((e.prompt_tokens + e.completion_tokens).to_string());
        }
        let team = e.team.clone().unwrap_or_default();
        if teams {
            row.insert(0, team.clone());
        }
        t.add_row(row);
        // A team's row is found by its team; one scenario may run on many.
        let who = if teams { team } else { e.scenario.clone() };
        reasons.add_row([who, e.reason.clone()]);
    }
    // The scenario names stay whole; the reasons wrap.
    if let Some(c) = reasons.column_mut(0) {
        c.set_constraint(comfy_table::ColumnConstraint::ContentWidth);
    }
    let t = format!("{t}\n{reasons}");
    let s = &report.summary;
    let ok = report.episodes.iter().filter(|e| e.success).count();
    let mut out = format!(
        "{t}\nsuccess rate {:.3} ({ok}/{}), average score {:.3}, mean steps {:.1}, wall time {:.3} s\n",
        s.success_rate, s.episodes, s.score, s.mean_steps, s.wall_time_s
    );
    if s.model_calls > 0 {
        let per_action = if report.episodes.iter().any(|e| e.steps > 0) {
            format!("{:.2} per executed action", s.calls_per_action)
        } else {
            "no action executed".to_string()
        };
        let per_success = s
            .tokens_per_success
            .map_or("no successful episode".to_string(), |t| {
                format!("{t:.0} per successful episode")
            });
        let cached = if s.cached_share > 0.0 {
            format!(
                ", {:.0}% of prompt tokens from the endpoints' caches",
                100.0 * s.cached_share
            )
        } else {
            String::new()
        };
        out.push_str(&format!(
            "model calls {} ({per_action}), tokens {} ({per_success}){cached}\n",
            s.model_calls, s.model_tokens
        ));
    }
    out
}
