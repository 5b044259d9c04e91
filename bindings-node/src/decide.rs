//! Decisions, templates and `why` on the `Audience` class. Decisions, payloads and answers
//! travel as JSON text through the engine's own `JSON`, so any plain object works; the core
//! checks them.

use jiff::Timestamp;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::json;

use crate::args::{field, given, instant_or_now, object, string};
use crate::audience::Audience;
use crate::errors::{argument, guard, guard_task, napi_failure, Read, Throw};

/// JSON text of a plain value (`JSON.stringify`), or a string as given.
pub(crate) fn json_text(env: &Env, v: Unknown<'_>, what: &str) -> Read<String> {
    match v.get_type() {
        Ok(ValueType::String) => return string(v, what),
        Ok(ValueType::Object) => {}
        // A number, a boolean, null or undefined is a wrong argument, not a malformed input:
        // `JSON.stringify(5)` would make it text that the core then refuses as its own kind.
        _ => {
            return Err(argument(format!(
                "{what} must be an object or JSON text, not {}",
                crate::args::describe(&v)
            )))
        }
    }
    let json: Object<'_> = env
        .get_global()
        .and_then(|g| g.get_named_property("JSON"))
        .map_err(napi_failure)?;
    let stringify: Function<'_, Unknown<'_>, Unknown<'_>> =
        json.get_named_property("stringify").map_err(napi_failure)?;
    let text = stringify.call(v).map_err(napi_failure)?;
    if text.get_type().ok() != Some(ValueType::String) {
        return Err(argument(format!("{what} must be an object or JSON text")));
    }
    string(text, what)
}

/// A value from JSON text (`JSON.parse`).
fn parsed<'env>(env: &'env Env, text: &str) -> Result<Unknown<'env>> {
    let json: Object<'_> = env.get_global()?.get_named_property("JSON")?;
    let parse: Function<'_, String, Unknown<'_>> = json.get_named_property("parse")?;
    parse.call(text.to_owned())
}

/// One clause of `why`: whether it holds, how its parts decide it, what the profile has and
/// what the clause needs (for a leaf), its parts; `text` (the readable form) at the top only.
#[napi(object)]
pub struct Why {
    /// The clause in the text form.
    pub condition: String,
    /// Whether it holds.
    pub holds: bool,
    /// How its parts decide it.
    #[napi(ts_type = "'leaf' | 'all' | 'any' | 'not' | 'segment'")]
    pub clause: String,
    /// What the profile has there (leaves).
    pub seen: Option<String>,
    /// What the clause needs (leaves).
    pub needed: Option<String>,
    /// Its parts.
    pub parts: Vec<Why>,
    /// The whole explanation as readable text (at the top only).
    pub text: Option<String>,
}

fn why_node(why: &segcore::Why) -> Why {
    Why {
        condition: why.condition.clone(),
        holds: why.holds,
        clause: why.clause.name().to_owned(),
        seen: why.seen.clone(),
        needed: why.needed.clone(),
        parts: why.parts.iter().map(why_node).collect(),
        text: None,
    }
}

/// A whole audience's outcome of a decision.
#[napi(object)]
pub struct Assignment {
    /// Every variant's members (ids in slot order); holdout profiles are not among them.
    pub variants: std::collections::BTreeMap<String, Vec<String>>,
    /// The holdout (control) group, listed apart so a send can leave them out.
    pub holdout: Vec<String>,
}

impl From<segcore::Assignment> for Assignment {
    fn from(a: segcore::Assignment) -> Self {
        Assignment {
            variants: a.variants,
            holdout: a.holdout,
        }
    }
}

fn assign_question(decision: Unknown<'_>, now: Option<Unknown<'_>>) -> Read<(String, Timestamp)> {
    Ok((string(decision, "decision")?, instant_or_now(now, "now")?))
}

/// `assignAsync`'s work: the arguments read on the main thread, the assignment on a worker.
pub struct Assign {
    audience: std::sync::Arc<std::sync::RwLock<segcore::Audience>>,
    question: Option<Read<(String, Timestamp)>>,
}

impl Task for Assign {
    type Output = Read<segcore::Assignment>;
    type JsValue = Assignment;

    fn compute(&mut self) -> Result<Self::Output> {
        guard_task(|| -> Result<Self::Output> {
            let (decision, now) = match self.question.take() {
                Some(Ok(question)) => question,
                Some(Err(failure)) => return Ok(Err(failure)),
                None => return Ok(Err(argument("the assignment already ran".to_owned()))),
            };
            let audience = self.audience.read().unwrap_or_else(|e| e.into_inner());
            Ok(audience.assign(&decision, now).map_err(Into::into))
        })
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> Result<Assignment> {
        output.map(Assignment::from).js(&env)
    }
}

/// The draw that decides who a decision holds out: a fraction in [0, 1) from the decision's
/// name and the profile's id, the same in every binding; held out when below the share.
#[napi(ts_args_type = "decision: string, profile: string")]
pub fn holdout_fraction(env: Env, decision: Unknown<'_>, profile: Unknown<'_>) -> Result<f64> {
    let run = || -> Read<f64> {
        let decision = string(decision, "decision")?;
        let profile = string(profile, "profile")?;
        Ok(segcore::decide::holdout_fraction(&decision, &profile))
    };
    guard(run).js(&env)
}

#[napi]
impl Audience {
    /// Defines (or replaces) a decision from its JSON form (an object or JSON text): ordered
    /// rules (`segment` or `when`) to variants, a `default`, an optional `holdout` share, and
    /// `variants` with a `payload` and an optional `template`.
    #[napi(ts_args_type = "name: string, decision: object | string")]
    pub fn define_decision(
        &self,
        env: Env,
        name: Unknown<'_>,
        decision: Unknown<'_>,
    ) -> Result<()> {
        let run = || -> Read<()> {
            let name = string(name, "name")?;
            let decision = segcore::Decision::from_json(&json_text(&env, decision, "decision")?)?;
            Ok(self.commit(|a| a.define_decision(&name, decision))?)
        };
        guard(run).js(&env)
    }

    /// A decision's JSON form, or null.
    #[napi(ts_args_type = "name: string", ts_return_type = "object | null")]
    pub fn decision<'env>(
        &self,
        env: &'env Env,
        name: Unknown<'_>,
    ) -> Result<Option<Unknown<'env>>> {
        let name = string(name, "name").js(env)?;
        let json = self.read().decision(&name).map(segcore::Decision::to_json);
        json.map(|j| parsed(env, &j)).transpose()
    }

    /// The names of the defined decisions, sorted.
    #[napi]
    pub fn decision_names(&self) -> Vec<String> {
        self.read().decision_names().map(str::to_owned).collect()
    }

    /// Removes a decision; returns its JSON form.
    #[napi(ts_args_type = "name: string", ts_return_type = "object")]
    pub fn remove_decision<'env>(
        &self,
        env: &'env Env,
        name: Unknown<'_>,
    ) -> Result<Unknown<'env>> {
        let name = string(name, "name").js(env)?;
        let removed = self.commit(|a| a.remove_decision(&name)).js(env)?;
        parsed(env, &removed.to_json())
    }

    /// One profile's variant: `{decision, variant, payload, chosenBy ('rule' | 'default' |
    /// 'holdout'), rule (its index or null), message (the rendered template or null)}`.
    #[napi(
        ts_args_type = "id: string, decision: string, now?: Date | string | number | undefined | null",
        ts_return_type = "{ decision: string, variant: string, payload: unknown, chosenBy: 'rule' | 'default' | 'holdout', rule: number | null, message: string | null }"
    )]
    pub fn decide<'env>(
        &self,
        env: &'env Env,
        id: Unknown<'_>,
        decision: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> Result<Unknown<'env>> {
        let run = || -> Read<segcore::Decided> {
            let id = string(id, "id")?;
            let decision = string(decision, "decision")?;
            let now = instant_or_now(now, "now")?;
            Ok(self.read().decide(&id, &decision, now)?)
        };
        let d = guard(run).js(env)?;
        let json = json!({
            "decision": d.decision,
            "variant": d.variant,
            "payload": d.payload,
            "chosenBy": d.chosen_by.name(),
            "rule": d.chosen_by.rule(),
            "message": d.message,
        });
        parsed(env, &json.to_string())
    }

    /// Every live profile's variant: `{variants: {name: ids}, holdout: ids}`.
    #[napi(ts_args_type = "decision: string, now?: Date | string | number | undefined | null")]
    pub fn assign(
        &self,
        env: Env,
        decision: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> Result<Assignment> {
        let (decision, now) = assign_question(decision, now).js(&env)?;
        let a = self.read().assign(&decision, now).js(&env)?;
        Ok(a.into())
    }

    /// `assign` off the main thread.
    #[napi(
        ts_args_type = "decision: string, now?: Date | string | number | undefined | null",
        ts_return_type = "Promise<Assignment>"
    )]
    pub fn assign_async(
        &self,
        decision: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> AsyncTask<Assign> {
        AsyncTask::new(Assign {
            audience: std::sync::Arc::clone(&self.inner),
            question: Some(assign_question(decision, now)),
        })
    }

    /// Renders a template (Jinja syntax) with one profile's fields; a missing field is empty
    /// or its `default(...)`. `options.escape: 'html'` HTML-escapes every value shown (for a
    /// page or an HTML e-mail); the default `'none'` shows values as they are.
    #[napi(
        ts_args_type = "id: string, template: string, options?: { escape?: 'none' | 'html' } | undefined | null"
    )]
    pub fn render(
        &self,
        env: Env,
        id: Unknown<'_>,
        template: Unknown<'_>,
        options: Option<Unknown<'_>>,
    ) -> Result<String> {
        let run = || -> Read<String> {
            let id = string(id, "id")?;
            let mut escape = segcore::Escape::None;
            if let Some(o) = given(options) {
                let o = object(o, "options")?;
                if let Some(v) = field(&o, "escape")? {
                    escape = match string(v, "options.escape")?.as_str() {
                        "none" => segcore::Escape::None,
                        "html" => segcore::Escape::Html,
                        other => {
                            return Err(argument(format!(
                                "options.escape must be \"none\" or \"html\", not {other:?}"
                            )))
                        }
                    };
                }
            }
            let template = segcore::Template::with_escape(&string(template, "template")?, escape)?;
            Ok(self.read().render(&id, &template)?)
        };
        guard(run).js(&env)
    }

    /// Why a profile is or is not in a segment (a name or a predicate's text), clause by
    /// clause: `{condition, holds, clause, seen, needed, parts, text}` (`text` the readable
    /// form, at the top only).
    #[napi(
        ts_args_type = "id: string, segment: string, now?: Date | string | number | undefined | null"
    )]
    pub fn why(
        &self,
        env: Env,
        id: Unknown<'_>,
        segment: Unknown<'_>,
        now: Option<Unknown<'_>>,
    ) -> Result<Why> {
        let run = || -> Read<segcore::Why> {
            let id = string(id, "id")?;
            let segment = string(segment, "segment")?;
            let now = instant_or_now(now, "now")?;
            Ok(self.read().why(&id, &segment, now)?)
        };
        let why = guard(run).js(&env)?;
        let mut node = why_node(&why);
        node.text = Some(why.to_string());
        Ok(node)
    }
}
