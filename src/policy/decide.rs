//! The decision matrix: one pure function from everything known about a command to a verdict.
//!
//! Order, first that applies wins:
//!
//! 1. **Kill switch** engaged → deny, rule `killswitch`. It beats everything, pause included: it
//!    is the human's emergency brake.
//! 2. **Paused** → allow and flag `paused` (record without enforcing). The decision that steps 3–9
//!    would have made is still computed: its class, rule and flags are kept, its reason is quoted,
//!    and `would_hold`/`would_deny` says what enforcement would have done.
//! 3. **Broken repository policy** → deny, rule `policy.invalid` (fail closed: its author meant to
//!    tighten something we cannot read).
//! 4. **Deny pattern** (global or repository) → deny, rule `policy.deny`, flag `policy_deny`.
//! 5. **Remembered deny** → deny, rule `memory.deny`, flag `remembered_deny` (any class, any mode).
//! 6. **Hold pattern** → raises a safe command to ambiguous (rule `policy.hold`), flag `policy_hold`.
//!    **Allow pattern** (global only) → lowers ambiguous to safe (rule `policy.allow`), flag
//!    `policy_allow`; it never lowers catastrophic.
//! 7. **Safe** → allow.
//! 8. **Remembered allow** → allow an ambiguous command, rule `memory.allow`, flag
//!    `remembered_allow`; never a catastrophic one, never a line that did not parse.
//! 9. **Mode**: `attended` → hold; `unattended` → deny; `notify` → allow and flag `notify`.
//!
//! `repo_loosening_ignored` is added whenever the effective policy ignored part of a repository
//! policy. The output class is the effective class (after a hold or allow pattern).

use super::file::Mode;
use super::merge::PolicyMatch;
use crate::classify::Class;
use crate::wire::{Decision, HumanDecision};

/// Flag: the verdict was allowed in `notify` mode although the class is not safe.
pub(crate) const FLAG_NOTIFY: &str = "notify";
/// Flag: enforcement is paused; the verdict is allow.
pub(crate) const FLAG_PAUSED: &str = "paused";
/// Flag (with `paused`): enforcement would have held the command.
pub(crate) const FLAG_WOULD_HOLD: &str = "would_hold";
/// Flag (with `paused`): enforcement would have denied the command.
pub(crate) const FLAG_WOULD_DENY: &str = "would_deny";
/// Flag: a remembered human approval allowed the command.
pub(crate) const FLAG_REMEMBERED_ALLOW: &str = "remembered_allow";
/// Flag: a remembered human denial denied the command.
pub(crate) const FLAG_REMEMBERED_DENY: &str = "remembered_deny";
/// Flag: a global allow pattern lowered the class.
pub(crate) const FLAG_POLICY_ALLOW: &str = "policy_allow";
/// Flag: a deny pattern denied the command.
pub(crate) const FLAG_POLICY_DENY: &str = "policy_deny";
/// Flag: a hold pattern matched.
pub(crate) const FLAG_POLICY_HOLD: &str = "policy_hold";
/// Flag: part of the repository policy was ignored because it would loosen.
pub(crate) const FLAG_REPO_LOOSENING_IGNORED: &str = "repo_loosening_ignored";

/// Rule id of a kill-switch denial.
pub(crate) const RULE_KILLSWITCH: &str = "killswitch";
/// Rule id of a deny pattern.
pub(crate) const RULE_POLICY_DENY: &str = "policy.deny";
/// Rule id of a hold pattern that raised the class.
pub(crate) const RULE_POLICY_HOLD: &str = "policy.hold";
/// Rule id of an allow pattern that lowered the class.
pub(crate) const RULE_POLICY_ALLOW: &str = "policy.allow";
/// Rule id of a denial because the repository policy is broken.
pub(crate) const RULE_POLICY_INVALID: &str = "policy.invalid";
/// Rule id of a remembered denial.
pub(crate) const RULE_MEMORY_DENY: &str = "memory.deny";
/// Rule id of a remembered approval.
pub(crate) const RULE_MEMORY_ALLOW: &str = "memory.allow";

/// Everything the decision depends on.
#[derive(Debug, Clone)]
pub struct DecideInput<'a> {
    /// The kill switch is engaged.
    pub killswitch: bool,
    /// Enforcement is paused by an admin.
    pub paused: bool,
    /// The classifier's class, rule id and reason.
    pub class: Class,
    /// The classifier's rule id.
    pub rule: &'a str,
    /// The classifier's reason.
    pub reason: &'a str,
    /// What the effective policy's patterns say ([`super::Effective::check`]).
    pub policy: &'a PolicyMatch<'a>,
    /// The effective mode.
    pub mode: Mode,
    /// A remembered human decision for this exact command in this repository.
    pub remembered: Option<HumanDecision>,
    /// The classifier parsed the whole line ([`crate::classify::Classification::parsed`]).
    pub parsed: bool,
    /// The effective policy ignored part of the repository policy.
    pub repo_loosening_ignored: bool,
}

/// The outcome: what the verdict and its audit record carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// Allow, hold or deny.
    pub decision: Decision,
    /// The effective class.
    pub class: Class,
    /// The rule that decided (the classifier's, or a policy or memory rule).
    pub rule: String,
    /// Why, in one sentence.
    pub reason: String,
    /// Qualifiers of the decision (`paused`, `notify`, `remembered_allow`, `policy_hold`, …).
    pub flags: Vec<String>,
}

/// Decides (see the module docs for the order).
pub fn decide(input: &DecideInput<'_>) -> Decided {
    let mut flags = Vec::new();
    if input.repo_loosening_ignored {
        flags.push(FLAG_REPO_LOOSENING_IGNORED.to_string());
    }
    if input.killswitch {
        return Decided {
            decision: Decision::Deny,
            class: input.class,
            rule: RULE_KILLSWITCH.into(),
            reason: "The kill switch is engaged: every command is denied until an admin releases it.".into(),
            flags,
        };
    }
    let mut enforced = enforce(input);
    flags.append(&mut enforced.flags);
    if input.paused {
        flags.push(FLAG_PAUSED.into());
        let reason = match enforced.decision {
            Decision::Allow => format!("Enforcement is paused; this would be allowed anyway: {}", enforced.reason),
            Decision::Hold => {
                flags.push(FLAG_WOULD_HOLD.into());
                format!("Enforcement is paused, so this is allowed and recorded; it would be held: {}", enforced.reason)
            }
            Decision::Deny => {
                flags.push(FLAG_WOULD_DENY.into());
                format!(
                    "Enforcement is paused, so this is allowed and recorded; it would be denied: {}",
                    enforced.reason
                )
            }
        };
        return Decided { decision: Decision::Allow, class: enforced.class, rule: enforced.rule, reason, flags };
    }
    Decided { flags, ..enforced }
}

/// Steps 3–9: the decision with enforcement on.
fn enforce(input: &DecideInput<'_>) -> Decided {
    let deny = |class, rule: &str, reason: String, flag: Option<&str>| Decided {
        decision: Decision::Deny,
        class,
        rule: rule.into(),
        reason,
        flags: flag.map(|f| vec![f.to_string()]).unwrap_or_default(),
    };
    match input.policy {
        PolicyMatch::Broken(why) => {
            return deny(
                input.class,
                RULE_POLICY_INVALID,
                format!("The repository policy cannot be used, so its commands are denied until it is fixed: {why}"),
                None,
            );
        }
        PolicyMatch::Deny(rule) => {
            let reason = match &rule.reason {
                Some(r) => format!("{r} (deny {})", rule.describe()),
                None => format!("The command matches deny {}.", rule.describe()),
            };
            return deny(input.class, RULE_POLICY_DENY, reason, Some(FLAG_POLICY_DENY));
        }
        _ => {}
    }
    if input.remembered == Some(HumanDecision::Deny) {
        return deny(
            input.class,
            RULE_MEMORY_DENY,
            "A human denied this exact command in this repository and asked to remember it.".into(),
            Some(FLAG_REMEMBERED_DENY),
        );
    }

    let mut class = input.class;
    let mut rule = input.rule.to_string();
    let mut reason = input.reason.to_string();
    let mut flags = Vec::new();
    match input.policy {
        PolicyMatch::Hold(r) => {
            flags.push(FLAG_POLICY_HOLD.to_string());
            if class < Class::Ambiguous {
                class = Class::Ambiguous;
                rule = RULE_POLICY_HOLD.into();
                reason = match &r.reason {
                    Some(why) => format!("{why} (hold {})", r.describe()),
                    None => format!("The command matches hold {}.", r.describe()),
                };
            }
        }
        PolicyMatch::Allow(r) if class == Class::Ambiguous => {
            flags.push(FLAG_POLICY_ALLOW.to_string());
            class = Class::Safe;
            rule = RULE_POLICY_ALLOW.into();
            reason = format!("The command matches allow {}.", r.describe());
        }
        PolicyMatch::Allow(_) if class == Class::Catastrophic => {
            reason.push_str(" (An allow pattern matched, but allow patterns never apply to catastrophic commands.)");
        }
        _ => {}
    }
    let done = |decision, rule, reason, flags| Decided { decision, class, rule, reason, flags };
    if class == Class::Safe {
        return done(Decision::Allow, rule, reason, flags);
    }
    match input.remembered {
        // An approval was for what a human read; a line that does not parse may not run as read.
        Some(HumanDecision::Allow) if class == Class::Ambiguous && input.parsed => {
            flags.push(FLAG_REMEMBERED_ALLOW.to_string());
            let reason =
                format!("A human approved this exact command in this repository and asked to remember it ({reason})");
            return done(Decision::Allow, RULE_MEMORY_ALLOW.into(), reason, flags);
        }
        Some(HumanDecision::Allow) if !input.parsed => {
            reason.push_str(" (A remembered approval never applies to a line that could not be parsed.)");
        }
        Some(HumanDecision::Allow) => {
            reason.push_str(" (A remembered approval never applies to catastrophic commands.)");
        }
        _ => {}
    }
    match input.mode {
        Mode::Attended => done(Decision::Hold, rule, reason, flags),
        Mode::Unattended => {
            reason.push_str(" (Unattended mode: no human is near to approve, so it is denied.)");
            done(Decision::Deny, rule, reason, flags)
        }
        Mode::Notify => {
            flags.push(FLAG_NOTIFY.to_string());
            done(Decision::Allow, rule, reason, flags)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::file::{Origin, RuleEntry};
    use crate::policy::pattern::{MatchKind, Pattern};

    const CLASSES: [Class; 3] = [Class::Safe, Class::Ambiguous, Class::Catastrophic];
    const MODES: [Mode; 3] = [Mode::Notify, Mode::Attended, Mode::Unattended];
    const MEMORY: [Option<HumanDecision>; 3] = [None, Some(HumanDecision::Allow), Some(HumanDecision::Deny)];

    fn entry(reason: Option<&str>) -> RuleEntry {
        RuleEntry {
            pattern: Pattern::new(MatchKind::Exact, "x").unwrap(),
            reason: reason.map(str::to_string),
            origin: Origin { path: "/etc/policy.toml".into(), line: 3 },
        }
    }

    fn input<'a>(class: Class, mode: Mode, policy: &'a PolicyMatch<'a>) -> DecideInput<'a> {
        DecideInput {
            killswitch: false,
            paused: false,
            class,
            rule: "test.rule",
            reason: "Test reason.",
            policy,
            mode,
            remembered: None,
            parsed: true,
            repo_loosening_ignored: false,
        }
    }

    fn has(d: &Decided, flag: &str) -> bool {
        d.flags.iter().any(|f| f == flag)
    }

    #[test]
    fn mode_by_class_matrix() {
        use Decision::*;
        let none = PolicyMatch::None;
        let expect = |mode, class| match (mode, class) {
            (_, Class::Safe) => Allow,
            (Mode::Attended, _) => Hold,
            (Mode::Unattended, _) => Deny,
            (Mode::Notify, _) => Allow,
        };
        for mode in MODES {
            for class in CLASSES {
                let d = decide(&input(class, mode, &none));
                assert_eq!(d.decision, expect(mode, class), "{mode:?} {class:?}");
                assert_eq!(d.class, class);
                assert_eq!(d.rule, "test.rule");
                assert!(d.reason.starts_with("Test reason."));
                let notify = mode == Mode::Notify && class != Class::Safe;
                assert_eq!(d.flags, if notify { vec![FLAG_NOTIFY.to_string()] } else { vec![] }, "{mode:?} {class:?}");
            }
        }
    }

    #[test]
    fn kill_switch_denies_everything() {
        let e = entry(None);
        let policies = [PolicyMatch::None, PolicyMatch::Allow(&e), PolicyMatch::Hold(&e), PolicyMatch::Deny(&e)];
        for policy in &policies {
            for mode in MODES {
                for class in CLASSES {
                    for remembered in MEMORY {
                        for paused in [false, true] {
                            let mut i = input(class, mode, policy);
                            i.killswitch = true;
                            i.paused = paused;
                            i.remembered = remembered;
                            let d = decide(&i);
                            assert_eq!(d.decision, Decision::Deny);
                            assert_eq!(d.rule, RULE_KILLSWITCH);
                            assert_eq!(d.class, class);
                            assert!(!has(&d, FLAG_PAUSED));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn pause_allows_everything_but_says_what_would_happen() {
        let e = entry(Some("no"));
        let policies = [PolicyMatch::None, PolicyMatch::Deny(&e), PolicyMatch::Broken("bad".into())];
        for policy in &policies {
            for mode in MODES {
                for class in CLASSES {
                    for remembered in MEMORY {
                        let mut i = input(class, mode, policy);
                        i.paused = true;
                        i.remembered = remembered;
                        let mut unpaused = i.clone();
                        unpaused.paused = false;
                        let would = decide(&unpaused);
                        let d = decide(&i);
                        assert_eq!(d.decision, Decision::Allow);
                        assert!(has(&d, FLAG_PAUSED));
                        assert_eq!(has(&d, FLAG_WOULD_HOLD), would.decision == Decision::Hold);
                        assert_eq!(has(&d, FLAG_WOULD_DENY), would.decision == Decision::Deny);
                        assert_eq!(d.rule, would.rule);
                        assert_eq!(d.class, would.class);
                        assert!(d.reason.contains(&would.reason));
                    }
                }
            }
        }
    }

    #[test]
    fn deny_pattern_denies_in_every_mode_and_class() {
        let e = entry(Some("Pushing to main is done by CI."));
        let p = PolicyMatch::Deny(&e);
        for mode in MODES {
            for class in CLASSES {
                for remembered in MEMORY {
                    let mut i = input(class, mode, &p);
                    i.remembered = remembered;
                    let d = decide(&i);
                    assert_eq!(d.decision, Decision::Deny);
                    assert_eq!(d.rule, RULE_POLICY_DENY);
                    assert!(d.reason.starts_with("Pushing to main is done by CI."), "{}", d.reason);
                    assert!(d.reason.contains("/etc/policy.toml line 3"), "{}", d.reason);
                    assert_eq!(d.flags, vec![FLAG_POLICY_DENY]);
                }
            }
        }
    }

    #[test]
    fn broken_repo_policy_fails_closed() {
        let p = PolicyMatch::Broken("policy file /x/.holdfast.toml line 2 column 1: unknown field".into());
        for mode in MODES {
            for class in CLASSES {
                let d = decide(&input(class, mode, &p));
                assert_eq!(d.decision, Decision::Deny);
                assert_eq!(d.rule, RULE_POLICY_INVALID);
                assert!(d.reason.contains("line 2"));
            }
        }
    }

    #[test]
    fn allow_pattern_lowers_ambiguous_never_catastrophic() {
        let e = entry(None);
        let p = PolicyMatch::Allow(&e);
        for mode in MODES {
            let d = decide(&input(Class::Ambiguous, mode, &p));
            assert_eq!((d.decision, d.class, d.rule.as_str()), (Decision::Allow, Class::Safe, RULE_POLICY_ALLOW));
            assert_eq!(d.flags, vec![FLAG_POLICY_ALLOW]);

            let d = decide(&input(Class::Catastrophic, mode, &p));
            assert_eq!(d.class, Class::Catastrophic);
            assert_eq!(d.rule, "test.rule");
            assert!(!has(&d, FLAG_POLICY_ALLOW));
            assert!(d.reason.contains("never apply to catastrophic"));
            let expected = match mode {
                Mode::Attended => Decision::Hold,
                Mode::Unattended => Decision::Deny,
                Mode::Notify => Decision::Allow,
            };
            assert_eq!(d.decision, expected);

            let d = decide(&input(Class::Safe, mode, &p));
            assert_eq!((d.decision, d.class), (Decision::Allow, Class::Safe));
            // Nothing to lower and nothing refused: the classifier's own reason, unannotated.
            assert_eq!((d.rule.as_str(), d.reason.as_str()), ("test.rule", "Test reason."));
        }
    }

    #[test]
    fn hold_pattern_raises_safe_to_ambiguous() {
        let e = entry(Some("Deploys need a human."));
        let p = PolicyMatch::Hold(&e);
        let d = decide(&input(Class::Safe, Mode::Attended, &p));
        assert_eq!((d.decision, d.class, d.rule.as_str()), (Decision::Hold, Class::Ambiguous, RULE_POLICY_HOLD));
        assert!(d.reason.starts_with("Deploys need a human."));
        assert_eq!(d.flags, vec![FLAG_POLICY_HOLD]);
        let d = decide(&input(Class::Safe, Mode::Unattended, &p));
        assert_eq!(d.decision, Decision::Deny);
        // Never lowers: an ambiguous or catastrophic command keeps its class, rule and reason.
        for class in [Class::Ambiguous, Class::Catastrophic] {
            let d = decide(&input(class, Mode::Attended, &p));
            assert_eq!((d.decision, d.class, d.rule.as_str()), (Decision::Hold, class, "test.rule"));
            assert_eq!(d.reason, "Test reason.");
        }
    }

    #[test]
    fn remembered_deny_always_applies() {
        let e = entry(None);
        for policy in [PolicyMatch::None, PolicyMatch::Allow(&e), PolicyMatch::Hold(&e)] {
            for mode in MODES {
                for class in CLASSES {
                    let mut i = input(class, mode, &policy);
                    i.remembered = Some(HumanDecision::Deny);
                    let d = decide(&i);
                    assert_eq!((d.decision, d.rule.as_str()), (Decision::Deny, RULE_MEMORY_DENY));
                    assert_eq!(d.flags, vec![FLAG_REMEMBERED_DENY]);
                }
            }
        }
    }

    #[test]
    fn remembered_allow_applies_to_ambiguous_only() {
        let none = PolicyMatch::None;
        for mode in MODES {
            let mut i = input(Class::Ambiguous, mode, &none);
            i.remembered = Some(HumanDecision::Allow);
            let d = decide(&i);
            assert_eq!((d.decision, d.rule.as_str()), (Decision::Allow, RULE_MEMORY_ALLOW));
            assert_eq!(d.flags, vec![FLAG_REMEMBERED_ALLOW]);

            let mut i = input(Class::Catastrophic, mode, &none);
            i.remembered = Some(HumanDecision::Allow);
            let d = decide(&i);
            assert!(!has(&d, FLAG_REMEMBERED_ALLOW));
            assert!(d.reason.contains("never applies to catastrophic"));
            assert_eq!(d.decision, decide(&input(Class::Catastrophic, mode, &none)).decision);

            let mut i = input(Class::Safe, mode, &none);
            i.remembered = Some(HumanDecision::Allow);
            assert_eq!(decide(&i).decision, Decision::Allow);
        }
        // A hold pattern's raised class can be approved and remembered.
        let e = entry(None);
        let p = PolicyMatch::Hold(&e);
        let mut i = input(Class::Safe, Mode::Attended, &p);
        i.remembered = Some(HumanDecision::Allow);
        assert_eq!(decide(&i).decision, Decision::Allow);
    }

    #[test]
    fn remembered_allow_never_applies_to_an_unparsed_line() {
        let none = PolicyMatch::None;
        for mode in MODES {
            let mut i = input(Class::Ambiguous, mode, &none);
            i.parsed = false;
            let fresh = decide(&i);
            i.remembered = Some(HumanDecision::Allow);
            let d = decide(&i);
            assert!(!has(&d, FLAG_REMEMBERED_ALLOW), "{d:?}");
            assert_eq!((d.decision, d.rule.as_str()), (fresh.decision, "test.rule"));
            assert!(d.reason.contains("could not be parsed"), "{}", d.reason);
            // A remembered denial only tightens: it still applies.
            i.remembered = Some(HumanDecision::Deny);
            assert_eq!(decide(&i).rule, RULE_MEMORY_DENY);
        }
    }

    #[test]
    fn loosening_flag_is_carried_through_every_path() {
        let e = entry(None);
        for policy in [PolicyMatch::None, PolicyMatch::Deny(&e)] {
            for (killswitch, paused) in [(false, false), (true, false), (false, true)] {
                let mut i = input(Class::Ambiguous, Mode::Attended, &policy);
                i.killswitch = killswitch;
                i.paused = paused;
                i.repo_loosening_ignored = true;
                assert!(has(&decide(&i), FLAG_REPO_LOOSENING_IGNORED));
            }
        }
    }
}
