//! `holdfast explain [--json] [--cwd DIR] -- CMD`: how the classifier read a
//! line (each command after unwrapping, the rule it raised), which rule won,
//! and what the global and repository policies make of it — the decision the
//! daemon would give with no kill switch, no pause and no remembered decision.

use std::path::PathBuf;

use serde::Serialize;

use holdfast::classify::{Explanation, explain};
use holdfast::paths::Paths;
use holdfast::policy::{self, DecideInput, Effective, Policy, PolicyMatch};
use holdfast::wire::Decision;

use super::Exit;
use super::output::print_json;

/// Arguments of `holdfast explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// The directory the command would run in (selects the repository policy); default: here.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// The command (several words are joined with spaces).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "CMD", required = true)]
    pub command: Vec<String>,
}

/// The policy side of the explanation.
#[derive(Debug, Serialize)]
struct PolicyView {
    global: String,
    /// Why the global policy could not be read (the built-in defaults then apply).
    global_error: Option<String>,
    repository: Option<String>,
    /// The pattern that matched, or why the repository policy is unusable.
    matched: Option<String>,
    mode: &'static str,
    ignored_loosening: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Outcome {
    decision: Decision,
    class: holdfast::classify::Class,
    rule: String,
    reason: String,
    flags: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Report {
    command: String,
    #[serde(flatten)]
    explanation: Explanation,
    family: String,
    safer: Option<&'static str>,
    policy: PolicyView,
    decision: Outcome,
}

fn build(command: String, cwd: PathBuf) -> anyhow::Result<Report> {
    let explanation = explain(&command);
    let c = &explanation.classification;
    let paths = Paths::from_env()?;
    let global_path = paths.policy();
    let (global, global_error) = match Policy::load(&global_path) {
        Ok(p) => (p, None),
        Err(e) => (Policy::default(), Some(e.to_string())),
    };
    let repo_path = policy::find_repo_policy(&cwd);
    let repo = policy::repo_policy_for(&cwd);
    let effective = Effective::new(&global, repo.as_ref().ok().and_then(Option::as_ref));
    let matched = match &repo {
        Err(e) => PolicyMatch::Broken(e.to_string()),
        Ok(_) => effective.check(&command),
    };
    let d = policy::decide(&DecideInput {
        killswitch: false,
        paused: false,
        class: c.class,
        rule: c.rule,
        reason: c.reason,
        policy: &matched,
        mode: effective.mode,
        remembered: None,
        parsed: c.parsed,
        repo_loosening_ignored: !effective.ignored.is_empty(),
    });
    let matched_text = match &matched {
        PolicyMatch::None => None,
        PolicyMatch::Allow(r) | PolicyMatch::Hold(r) | PolicyMatch::Deny(r) => Some(r.describe()),
        PolicyMatch::Broken(why) => Some(format!("repository policy unusable: {why}")),
    };
    let (_, safer) = super::rules::split_reason(c.reason);
    Ok(Report {
        family: c.rule.split('.').next().unwrap_or(c.rule).to_string(),
        safer,
        policy: PolicyView {
            global: global_path.display().to_string(),
            global_error,
            repository: repo_path.map(|p| p.display().to_string()),
            matched: matched_text,
            mode: effective.mode.as_str(),
            ignored_loosening: effective.ignored.clone(),
        },
        decision: Outcome { decision: d.decision, class: d.class, rule: d.rule, reason: d.reason, flags: d.flags },
        command,
        explanation,
    })
}

fn render(r: &Report) -> String {
    let mut out = super::classify::render_human(&r.command, &r.explanation.classification);
    out.push_str("commands checked (after unwrapping):\n");
    if r.explanation.steps.is_empty() {
        out.push_str("  (none: only the line's structure was checked)\n");
    }
    for s in &r.explanation.steps {
        let indent = "  ".repeat(s.depth as usize + 1);
        let sudo = if s.sudo { "[root] " } else { "" };
        let raised = s.raised.map(|(id, class)| format!("  -> {id} ({class})")).unwrap_or_default();
        out.push_str(&format!("{indent}{sudo}{} {}{raised}\n", s.program, s.argv.join(" ")));
    }
    let p = &r.policy;
    out.push_str(&format!("policy: global {}", p.global));
    if let Some(e) = &p.global_error {
        out.push_str(&format!(" (unreadable, defaults apply: {e})"));
    }
    out.push_str(&format!(
        "; repository {}; mode {}; pattern {}\n",
        p.repository.as_deref().unwrap_or("none"),
        p.mode,
        p.matched.as_deref().unwrap_or("none matched")
    ));
    let d = &r.decision;
    let word = match d.decision {
        Decision::Allow => "allow",
        Decision::Hold => "hold",
        Decision::Deny => "deny",
    };
    out.push_str(&format!("decision: {word} ({}, {})\n  {}\n", d.class, d.rule, d.reason));
    out.push_str("  (as the daemon decides with no kill switch, no pause and no remembered decision)\n");
    out
}

/// Run `holdfast explain`.
pub fn run(args: &ExplainArgs) -> anyhow::Result<Exit> {
    let cwd = match &args.cwd {
        Some(d) => d.clone(),
        None => std::env::current_dir()?,
    };
    let report = build(args.command.join(" "), cwd)?;
    if args.json {
        print_json(&report);
    } else {
        print!("{}", render(&report));
    }
    Ok(Exit::Ok)
}
