//! `holdfast rules [--json]`: every classifier rule with its id, class,
//! family, reason and the safer way it names (if any).

use serde::Serialize;

use super::Exit;
use super::output::{JsonFlag, print_json};

/// One rule as `holdfast rules` lists it.
#[derive(Debug, Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    pub class: holdfast::classify::Class,
    /// The rule family: the id's first part (`git`, `fs`, `persist`, …).
    pub family: &'static str,
    /// What the command would do or lose.
    pub reason: &'static str,
    /// The safer way the reason names, if any.
    pub safer: Option<&'static str>,
}

/// Split a rule's text into its first sentence and the advice that follows.
pub fn split_reason(text: &'static str) -> (&'static str, Option<&'static str>) {
    let b = text.as_bytes();
    for (k, w) in b.windows(3).enumerate() {
        if w[0] == b'.' && w[1] == b' ' && (w[2].is_ascii_uppercase() || w[2] == b'`') {
            return (&text[..=k], Some(&text[k + 2..]));
        }
    }
    (text, None)
}

/// Every rule, in the classifier's order.
pub fn all() -> Vec<RuleInfo> {
    holdfast::classify::rule_ids()
        .map(|(id, class, text)| {
            let (reason, safer) = split_reason(text);
            RuleInfo { id, class, family: id.split('.').next().unwrap_or(id), reason, safer }
        })
        .collect()
}

/// Run `holdfast rules`.
pub fn run(args: &JsonFlag) -> anyhow::Result<Exit> {
    let rules = all();
    if args.json {
        print_json(&rules);
        return Ok(Exit::Ok);
    }
    for r in &rules {
        println!("{:<34} {:<12} {}", r.id, r.class.as_str(), r.reason);
        if let Some(s) = r.safer {
            println!("{:<47} safer: {s}", "");
        }
    }
    Ok(Exit::Ok)
}
