//! The per-episode table and the summary line printed by `clea sim`.

use clea_agent::report::SuiteReport;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

/// Render `report` as a table plus a summary line.
pub fn render(report: &SuiteReport) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "scenario",
        "success",
        "score",
        "steps",
        "fail",
        "invalid",
        "rejected",
        "replans",
        "perturb",
        "model calls",
        "tokens",
        "reason",
    ]);
    for e in &report.episodes {
        t.add_row([
            e.scenario.clone(),
            if e.success { "yes" } else { "NO" }.to_string(),
            format!("{:.2}", e.score),
            e.steps.to_string(),
            e.skill_failures.to_string(),
            e.invalid_calls.to_string(),
            e.critic_rejections.to_string(),
            e.replans.to_string(),
            e.perturbations.to_string(),
            e.model_calls.to_string(),
            (e.prompt_tokens + e.completion_tokens).to_string(),
            e.reason.clone(),
        ]);
    }
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
        out.push_str(&format!(
            "model calls {} ({per_action}), tokens {} ({per_success})\n",
            s.model_calls, s.model_tokens
        ));
    }
    out
}
